"""`SettingsController`: the station's `Settings`, theme switching and saving.

Writing `settings.toml` is a tiny local file write, done directly. Database and model
changes take effect at the next start (bootstrap opens the database before any window).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from app.keymap import KeyMap
from app.settings import (
    Settings,
    SettingsError,
    Thresholds,
    Vigilance,
    save_settings,
)
from app.theme import THEMES, apply_theme
from app.workers.errors import ErrorInfo

log = logging.getLogger(__name__)

# Roles that may change station settings (database, model, thresholds).
STATION_ADMIN_ROLES = frozenset({"engineer", "admin"})


class SettingsController(QObject):
    """Holds the current `Settings`; applies and saves changes."""

    # The theme was switched: 'light' or 'dark'.
    theme_changed = Signal(str)
    # Settings were saved: the new Settings.
    settings_saved = Signal(object)
    # Validation or saving failed: an ErrorInfo.
    failed = Signal(object)

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._startup = settings
        # The review keyboard map (per station, in QSettings; see app.keymap).
        self.keymap = KeyMap(self)

    @property
    def settings(self) -> Settings:
        """The settings as last saved (or as loaded at start)."""
        return self._settings

    @property
    def startup_settings(self) -> Settings:
        """The settings the station started with (what is in effect now)."""
        return self._startup

    @staticmethod
    def may_edit_station(role: str) -> bool:
        """Whether `role` may change the database, model and thresholds."""
        return str(role) in STATION_ADMIN_ROLES

    def set_theme(self, name: str) -> None:
        """Apply theme `name` to the application now and remember it."""
        if name not in THEMES:
            msg = f"unknown theme {name!r}"
            raise ValueError(msg)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, name)
        if name != self._settings.theme:
            self._save(replace(self._settings, theme=name))
        self.theme_changed.emit(name)

    def save_station(self, *, database: str, model_dir: str, t_lo: float, t_hi: float):
        """Validate and save station settings; answers `settings_saved` or `failed`."""
        try:
            thresholds = Thresholds(t_lo=float(t_lo), t_hi=float(t_hi))
        except SettingsError as exc:
            self.failed.emit(ErrorInfo.from_exception(exc))
            return
        new = replace(
            self._settings,
            db_url=database.strip(),
            model_dir=Path(model_dir.strip())
            if model_dir.strip()
            else self._settings.model_dir,
            thresholds=thresholds,
        )
        self._save(new)

    def save_vigilance(
        self, *, enabled: bool, rate: float, defect_fraction: float, library: str
    ) -> None:
        """Validate and save the vigilance seeding settings (used from the next start).

        Answers `settings_saved` or `failed` (e.g. enabled without a library).
        """
        try:
            vigilance = Vigilance(
                enabled=bool(enabled),
                rate=float(rate),
                defect_fraction=float(defect_fraction),
                library=library.strip(),
            )
            if vigilance.enabled and not vigilance.library:
                msg = "choose a seed library folder (with manifest.csv) first"
                raise SettingsError(msg)
            if vigilance.enabled and not Path(vigilance.library).exists():
                msg = f"seed library {vigilance.library} does not exist"
                raise SettingsError(msg)
        except SettingsError as exc:
            self.failed.emit(ErrorInfo.from_exception(exc))
            return
        self._save(replace(self._settings, vigilance=vigilance))

    def needs_restart(self) -> bool:
        """True when the saved database or model differs from the running one."""
        return (
            self._settings.database != self._startup.database
            or self._settings.model_dir != self._startup.model_dir
        )

    def _save(self, new: Settings) -> None:
        if new.demo:
            # A demo session never overwrites the station's real settings file.
            self._settings = new
            self.settings_saved.emit(new)
            return
        try:
            path = save_settings(new)
        except OSError as exc:
            self.failed.emit(ErrorInfo.from_exception(exc))
            return
        log.info("settings saved to %s", path)
        self._settings = new
        self.settings_saved.emit(new)
