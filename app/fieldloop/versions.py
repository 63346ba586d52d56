"""Model folders and the registry: which version inspects, registering new ones.

No Qt and no torch here: a model folder is read through its card (``model.json``);
the weights are only loaded by whoever inspects with it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CARD_FILE = "model.json"


class ModelFolderError(ValueError):
    """A model folder cannot be used (the message names the folder or file)."""


@dataclass(frozen=True)
class ModelChoice:
    """The model folder a station inspects with, and where the choice came from.

    Attributes:
        folder: the model folder.
        version: its registered version (None when the registry was not used).
        source: ``"active"`` (the registry's active version) or ``"configured"``.
    """

    folder: Path
    version: str | None
    source: str


def read_card(folder: str | Path) -> dict[str, Any]:
    """The card of a model folder.

    Raises:
        ModelFolderError: no folder, no card, unreadable card, or no version/sha256.
    """
    folder = Path(folder)
    path = folder / CARD_FILE
    if not folder.is_dir():
        msg = f"{folder}: not a model folder (missing)"
        raise ModelFolderError(msg)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"{path}: missing; not a model folder"
        raise ModelFolderError(msg) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{path}: unreadable ({exc})"
        raise ModelFolderError(msg) from exc
    if not isinstance(card, dict) or not card.get("version"):
        msg = f"{path}: no model version in the card"
        raise ModelFolderError(msg)
    if not card.get("weights_sha256"):
        msg = (
            f"{path}: no weights_sha256 in the card; cannot register unverified weights"
        )
        raise ModelFolderError(msg)
    return card


def card_summary(card: dict[str, Any]) -> dict[str, Any]:
    """The part of a card kept in the registry row (small, JSON-ready)."""
    metrics = (card.get("metrics") or {}).get("test") or {}
    keep = ("accuracy", "overkill", "escape", "auroc", "ece")
    return {
        "architecture": card.get("architecture"),
        "input_size": card.get("input_size"),
        "t_lo": card.get("t_lo"),
        "t_hi": card.get("t_hi"),
        "temperature": card.get("temperature"),
        "parent_version": card.get("parent_version"),
        "datasets": (card.get("data") or {}).get("datasets"),
        "test": {k: metrics.get(k) for k in keep if k in metrics},
    }


def register_folder(db: Any, folder: str | Path, *, actor: Any = None) -> Any:
    """Register a model folder as a candidate version (idempotent).

    Returns:
        The registry row (`ModelVersionDTO`).

    Raises:
        ModelFolderError: the folder's card is unusable.
        ValueError: the version is registered with other weights.
    """
    folder = Path(folder).resolve()
    card = read_card(folder)
    return db.models_registry.register(
        str(card["version"]),
        str(folder),
        str(card["weights_sha256"]),
        card_summary(card),
        actor=actor,
    )


def ensure_baseline(db: Any, folder: str | Path) -> Any:
    """On a registry with no active version, register `folder` and make it active.

    The shipped (or configured) model becomes version one of the station's history,
    so a later promotion can always be rolled back to it. Does nothing when a version
    is already active. Returns the active version, or None when `folder` is unusable
    (logged; the station still starts).
    """
    active = db.models_registry.active()
    if active is not None:
        return active
    try:
        row = register_folder(db, folder)
    except (ModelFolderError, ValueError) as exc:
        log.warning("model registry: cannot register %s: %s", folder, exc)
        return None
    return db.models_registry.activate_baseline(row.version) or (
        db.models_registry.active()
    )


def choose_model(db: Any | None, configured: str | Path) -> ModelChoice:
    """The folder to inspect with: the registry's active version, else `configured`.

    An active version whose folder has gone is reported in the log and the configured
    folder is used instead.
    """
    if db is not None:
        active = db.models_registry.active()
        if active is not None:
            if Path(active.path).is_dir():
                return ModelChoice(Path(active.path), active.version, "active")
            log.warning(
                "active model %s: folder %s is missing; using %s",
                active.version,
                active.path,
                configured,
            )
    return ModelChoice(Path(configured), None, "configured")


def resolve_model(db: Any | None, name_or_path: str | Path) -> Path:
    """A model folder given as a path or as a registered version name.

    Raises:
        ModelFolderError: neither a folder nor a registered version.
    """
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if db is not None:
        from db import NotFoundError

        try:
            return Path(db.models_registry.get(str(name_or_path)).path)
        except NotFoundError:
            pass
    msg = f"{name_or_path}: neither a model folder nor a registered model version"
    raise ModelFolderError(msg)
