"""Site settings: a frozen dataclass loaded once from TOML and the environment (no Qt).

Order of precedence (last wins): built-in defaults, `<data_dir>/settings.toml`,
environment variables (`SOLDERNET_HOME`, `SOLDERNET_DB`, `SOLDERNET_MODEL`), then
command-line arguments applied by the caller with `dataclasses.replace`.
UI state (window geometry, splitters, last folder) is not here: it lives in QSettings.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOURCES_DIR = REPO_ROOT / "resources"
DEFAULT_MODEL_DIR = RESOURCES_DIR / "models" / "default"
DEMO_DIR = RESOURCES_DIR / "demo"


class SettingsError(ValueError):
    """The settings file or an environment override is invalid."""


def default_data_dir() -> Path:
    """The user's data folder: `$SOLDERNET_HOME`, else `$XDG_DATA_HOME/soldernet`."""
    explicit = os.environ.get("SOLDERNET_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "soldernet"


@dataclass(frozen=True)
class Thresholds:
    """Confidence-region thresholds (algorithms.md §3.2)."""

    t_lo: float = 0.1
    t_hi: float = 0.9

    def __post_init__(self) -> None:
        if not (0.0 <= self.t_lo <= 0.5 <= self.t_hi <= 1.0):
            msg = f"thresholds must satisfy 0 <= t_lo <= 0.5 <= t_hi <= 1, got {self}"
            raise SettingsError(msg)


@dataclass(frozen=True)
class Vigilance:
    """Inspector vigilance seeding (docs/vigilance.md); off unless enabled.

    Attributes:
        enabled: seed known joints into the review queue.
        rate: seeds per possibly defective joint of a board (0.05 = 1 in 20).
        defect_fraction: share of known-defect seeds (the rest known good).
        library: the seed library (a manifest-format folder).
    """

    enabled: bool = False
    rate: float = 0.05
    defect_fraction: float = 0.5
    library: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            msg = f"vigilance_rate must be within [0, 1], got {self.rate}"
            raise SettingsError(msg)
        if not 0.0 <= self.defect_fraction <= 1.0:
            msg = (
                "vigilance_defect_fraction must be within [0, 1], got "
                f"{self.defect_fraction}"
            )
            raise SettingsError(msg)

    @property
    def active_library(self) -> str | None:
        """The library to seed from, or None when seeding is off."""
        return self.library if self.enabled and self.library and self.rate else None


@dataclass(frozen=True)
class Settings:
    """Everything a station needs to start, resolved to concrete values."""

    data_dir: Path = field(default_factory=default_data_dir)
    db_url: str = ""
    model_dir: Path = DEFAULT_MODEL_DIR
    thresholds: Thresholds = field(default_factory=Thresholds)
    theme: str = "light"
    device: str = "auto"
    demo: bool = False
    vigilance: Vigilance = field(default_factory=Vigilance)

    @property
    def database(self) -> str:
        """The database URL or path (default: `inspection.db` in the data folder)."""
        return self.db_url or str(self.data_dir / "inspection.db")

    @property
    def artefact_dir(self) -> Path:
        """Where crops, heatmaps and exports of this station are written."""
        return self.data_dir / "artefacts"


def load_settings(data_dir: Path | None = None) -> Settings:
    """Load settings from `<data_dir>/settings.toml` and the environment.

    Raises:
        SettingsError: the TOML file is unreadable or holds invalid values; the message
            names the file.
    """
    base = Settings() if data_dir is None else Settings(data_dir=data_dir)
    path = base.data_dir / "settings.toml"
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            msg = f"{path}: cannot read settings ({exc})"
            raise SettingsError(msg) from exc
    try:
        settings = replace(
            base,
            db_url=str(values.get("database", base.db_url)),
            model_dir=Path(str(values.get("model", base.model_dir))),
            theme=str(values.get("theme", base.theme)),
            device=str(values.get("device", base.device)),
            thresholds=Thresholds(
                t_lo=float(values.get("t_lo", base.thresholds.t_lo)),  # type: ignore[arg-type]
                t_hi=float(values.get("t_hi", base.thresholds.t_hi)),  # type: ignore[arg-type]
            ),
            vigilance=_vigilance(values, base.vigilance),
        )
    except (TypeError, ValueError) as exc:
        msg = f"{path}: {exc}"
        raise SettingsError(msg) from exc
    if settings.theme not in {"light", "dark"}:
        msg = f"{path}: theme must be 'light' or 'dark', got {settings.theme!r}"
        raise SettingsError(msg)
    env_db = os.environ.get("SOLDERNET_DB")
    env_model = os.environ.get("SOLDERNET_MODEL")
    if env_db:
        settings = replace(settings, db_url=env_db)
    if env_model:
        settings = replace(settings, model_dir=Path(env_model))
    return settings


def _vigilance(values: dict[str, object], base: Vigilance) -> Vigilance:
    """The vigilance keys of settings.toml (all optional: older files have none)."""
    enabled = values.get("vigilance", base.enabled)
    if not isinstance(enabled, bool):
        msg = f"vigilance must be true or false, got {enabled!r}"
        raise ValueError(msg)
    return Vigilance(
        enabled=enabled,
        rate=float(values.get("vigilance_rate", base.rate)),  # type: ignore[arg-type]
        defect_fraction=float(
            values.get("vigilance_defect_fraction", base.defect_fraction)  # type: ignore[arg-type]
        ),
        library=str(values.get("vigilance_library", base.library)),
    )


def _toml_str(text: str) -> str:
    """A TOML basic string (backslashes and quotes escaped: Windows paths)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def save_settings(settings: Settings) -> Path:
    """Write the site settings back to `<data_dir>/settings.toml`; returns the path."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "settings.toml"
    lines = [
        f'database = "{settings.db_url}"',
        f'model = "{settings.model_dir}"',
        f'theme = "{settings.theme}"',
        f'device = "{settings.device}"',
        f"t_lo = {settings.thresholds.t_lo}",
        f"t_hi = {settings.thresholds.t_hi}",
        f"vigilance = {'true' if settings.vigilance.enabled else 'false'}",
        f"vigilance_rate = {settings.vigilance.rate}",
        f"vigilance_defect_fraction = {settings.vigilance.defect_fraction}",
        f"vigilance_library = {_toml_str(settings.vigilance.library)}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
