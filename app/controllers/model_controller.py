"""`ModelController`: the Model tab's card, evaluation plots, what-if data and the
model registry (promote / rollback), all fetched off the GUI thread.

The card is read from the model folder's `model.json` as plain JSON (the weights are
not loaded: showing the card must not need torch). The folder is the registry's
active version when it has one on disk, else the configured default folder.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from app.controllers._background import BackgroundController
from app.widgets.soxai_panel import SoxaiInfo, read_soxai

if TYPE_CHECKING:
    from app.workers.task import TaskRunner

log = logging.getLogger(__name__)

CARD_FILE = "model.json"
# Roles that may promote or roll back a model version (db.registry enforces it too).
PROMOTER_ROLES = frozenset({"engineer", "admin"})
MAX_PLOTS = 24


@dataclass(frozen=True)
class ModelInfo:
    """What the Model tab shows about one model folder.

    Attributes:
        folder: the model folder.
        source: `active` (the registry's active version) or `default` (settings).
        card: the parsed `model.json` ({} when missing).
        error: why the card could not be read ("" when fine).
        plots: (file name, image) of every PNG in the folder, sorted by name.
        soxai: the SOXAI run in the folder's `soxai/` (None when there is none).
    """

    folder: Path
    source: str
    card: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    plots: list[tuple[str, QImage]] = field(default_factory=list)
    soxai: SoxaiInfo | None = None

    @property
    def thresholds(self) -> tuple[float, float] | None:
        """(t_lo, t_hi) from the card (flat or nested `thresholds`), if any."""
        nested = self.card.get("thresholds") or {}
        try:
            t_lo = float(self.card.get("t_lo", nested.get("t_lo")))
            t_hi = float(self.card.get("t_hi", nested.get("t_hi")))
        except (TypeError, ValueError):
            return None
        if not (math.isfinite(t_lo) and math.isfinite(t_hi)):
            return None
        return t_lo, t_hi


def read_model_info(folder: Path, source: str) -> ModelInfo:
    """Read `model.json` and the folder's PNG plots (any thread; QImage only).

    Args:
        folder: the model folder.
        source: where the folder came from (`active` or `default`).

    Returns:
        The info; a missing or unreadable card is reported in `error`, not raised.
    """
    card: dict[str, Any] = {}
    error = ""
    card_path = folder / CARD_FILE
    if not folder.is_dir():
        error = f"{folder}: no model installed (folder missing)"
    elif not card_path.is_file():
        error = f"{card_path}: missing"
    else:
        try:
            loaded = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            error = f"{card_path}: unreadable ({exc})"
        else:
            if isinstance(loaded, dict):
                card = loaded
            else:
                error = f"{card_path}: not a JSON object"
    plots: list[tuple[str, QImage]] = []
    if folder.is_dir():
        for png in sorted(folder.glob("*.png"))[:MAX_PLOTS]:
            image = QImage(str(png))
            if image.isNull():
                log.warning("%s: not a readable PNG; skipped", png)
                continue
            plots.append((png.name, image))
    return ModelInfo(folder, source, card, error, plots, read_soxai(folder))


def _load_info(db: Any, default_folder: Path) -> ModelInfo:
    active = db.models_registry.active()
    if active is not None and Path(active.path).is_dir():
        return read_model_info(Path(active.path), "active")
    return read_model_info(default_folder, "default")


def _outcomes(db: Any) -> list[tuple[float, bool]]:
    return list(db.review.verdict_outcomes())


def _versions(db: Any) -> list[Any]:
    return list(db.models_registry.list())


def _promote(db: Any, actor: Any, version: str) -> Any:
    return db.models_registry.promote(version, actor=actor)


def _rollback(db: Any, actor: Any) -> Any:
    return db.models_registry.rollback(actor=actor)


def _comparison(db: Any, version: str) -> tuple[str, str | None, Any]:
    active = db.models_registry.active()
    if active is None or active.version == version:
        return version, active.version if active else None, None
    details = db.models_registry.latest_comparison(version, active.version)
    return version, active.version, details


class ModelController(BackgroundController):
    """Fetches the model card, past verdict outcomes and registry versions."""

    # The model folder's info arrived: a ModelInfo.
    info_ready = Signal(object)
    # Past verdicts for the what-if arrived: list[(p, is_defect)].
    outcomes_ready = Signal(object)
    # The registered versions arrived: list[ModelVersionDTO], newest first.
    versions_ready = Signal(object)
    # A version's promotion evidence arrived: (version, active version or None,
    # the recorded comparison details or None).
    comparison_ready = Signal(object)
    # A promote or rollback succeeded: the now active ModelVersionDTO.
    version_changed = Signal(object)
    # Something failed: an ErrorInfo.
    failed = Signal(object)
    # A task started (True) or all ended (False).
    busy_changed = Signal(bool)

    def __init__(
        self,
        database: Any,
        runner: TaskRunner,
        default_folder: Path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(database, runner, parent)
        self.default_folder = Path(default_folder)

    @staticmethod
    def may_promote(role: str) -> bool:
        """Whether `role` may promote or roll back model versions."""
        return str(role) in PROMOTER_ROLES

    def refresh(self) -> None:
        """Fetch the card, the verdict outcomes and the versions."""
        self._run(_load_info, self._on_info_result, self._db, self.default_folder)
        self._run(_outcomes, self._on_outcomes_result, self._db)
        self._run(_versions, self._on_versions_result, self._db)

    def load_comparison(self, version: str) -> None:
        """Fetch the recorded comparison of `version` against the active version."""
        self._run(_comparison, self._on_comparison_result, self._db, version)

    def promote(self, actor: Any, version: str) -> None:
        """Make `version` the active one (audited by the registry)."""
        self._run(_promote, self._on_version_changed, self._db, actor, version)

    def rollback(self, actor: Any) -> None:
        """Re-activate the previously active version (audited by the registry)."""
        self._run(_rollback, self._on_version_changed, self._db, actor)

    @Slot(object)
    def _on_info_result(self, info: object) -> None:
        self.info_ready.emit(info)

    @Slot(object)
    def _on_outcomes_result(self, pairs: object) -> None:
        self.outcomes_ready.emit(pairs)

    @Slot(object)
    def _on_versions_result(self, versions: object) -> None:
        self.versions_ready.emit(versions)

    @Slot(object)
    def _on_comparison_result(self, result: object) -> None:
        self.comparison_ready.emit(result)

    @Slot(object)
    def _on_version_changed(self, version: object) -> None:
        self.version_changed.emit(version)
        self._run(_versions, self._on_versions_result, self._db)
        self._run(_load_info, self._on_info_result, self._db, self.default_folder)
