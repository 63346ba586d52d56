"""Qt fixtures for the GUI tests: isolated QSettings, a station on a real SQLite file,
and a `main_window` factory that builds the whole shell as `soldernet gui` does."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings

ADMIN_NAME, ADMIN_PIN = "Ada Admin", "2468"


@pytest.fixture(autouse=True)
def _gc_on_the_gui_thread(qapp):
    """As the app does (`app.gc_guard`): no automatic collection during a test, so a
    worker thread never destroys Qt objects; the test's garbage is collected here."""
    gc.disable()
    yield
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True)
def _isolated_qsettings(tmp_path: Path):
    """QSettings (window geometry, UI state) live in this test's tmp folder only."""
    QCoreApplication.setOrganizationName("SolderNetTests")
    QCoreApplication.setApplicationName("SolderNet Review Tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    folder = tmp_path / "qsettings"
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))
    return folder


@pytest.fixture
def restore_theme(qapp):
    """Put the application palette and stylesheet back after a test changes them."""
    palette, sheet = qapp.palette(), qapp.styleSheet()
    theme = qapp.property("soldernet_theme")
    yield
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("soldernet_theme", theme)


@pytest.fixture
def station_settings(tmp_path: Path):
    """Settings for a station whose data folder and database are in tmp_path.

    The model folder is an empty one in tmp_path, so the first start does not inspect
    the demo boards with the shipped model in every GUI test (tests that want a model
    pass their own).
    """
    from app.settings import Settings

    data = tmp_path / "station"
    data.mkdir()
    return Settings(
        data_dir=data,
        db_url=str(data / "inspection.db"),
        model_dir=tmp_path / "no-model",
    )


@dataclass
class Shell:
    """What a test drives: the station (controllers, database) and its two windows."""

    station: Any
    shell: Any

    @property
    def db(self) -> Any:
        return self.station.database

    @property
    def window(self) -> Any:
        return self.shell.main_window

    @property
    def dialog(self) -> Any:
        return self.shell.login_dialog


@pytest.fixture
def main_window(qtbot, station_settings, restore_theme):
    """Factory: `main_window(settings=None)` builds a station and its shell.

    Every shell built is shut down and its database closed after the test.
    """
    from app.bootstrap import build_shell, build_station

    built: list[Shell] = []

    def factory(settings: Any = None) -> Shell:
        station = build_station(settings or station_settings)
        shell = build_shell(station)
        qtbot.addWidget(shell.main_window)
        qtbot.addWidget(shell.login_dialog)
        built.append(Shell(station, shell))
        return built[-1]

    yield factory
    for item in reversed(built):
        item.shell.shutdown()
        item.station.close()


@pytest.fixture
def admin_user(station_settings):
    """Create the first admin directly in the database file (test set-up only)."""
    from db import open_database

    db = open_database(station_settings.database)
    try:
        return db.users.create_user(ADMIN_NAME, "admin", ADMIN_PIN, actor=None)
    finally:
        db.close()


@pytest.fixture
def log_in(qtbot):
    """`log_in(shell, name, pin)`: fill the login page, wait for the main window."""
    from app.widgets.login_dialog import LoginDialog

    def do_log_in(shell: Shell, name: str = ADMIN_NAME, pin: str = ADMIN_PIN) -> None:
        dialog = shell.dialog
        qtbot.waitUntil(lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN)
        qtbot.waitUntil(dialog.stack.isEnabled)
        dialog.name_edit.setText(name)
        dialog.pin_edit.setText(pin)
        with qtbot.waitSignal(shell.station.session.logged_in, timeout=10_000):
            dialog.login_button.click()
        qtbot.waitUntil(shell.window.isVisible)

    return do_log_in
