"""Smaller pieces of the shell: error presenter, excepthook, item models, role-aware
screens, Settings user administration and startup failures."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QStatusBar

from app.controllers.users_controller import NewUserRequest
from app.models.figures_model import FiguresTableModel, label_of, report_rows
from app.models.users_model import UsersTableModel
from app.widgets.add_user_dialog import AddUserDialog
from app.widgets.error_presenter import ErrorDialog, ErrorPresenter, describe
from app.workers.errors import ErrorInfo

pytestmark = pytest.mark.gui

ADMIN_NAME, ADMIN_PIN = "Ada Admin", "2468"


@pytest.fixture
def dialogs(monkeypatch):
    """Record ErrorDialog.show_error calls instead of opening modal boxes."""
    shown: list[tuple[str, str, str]] = []

    def fake_show_error(cls, parent, title, text, details=""):
        shown.append((title, text, details))

    monkeypatch.setattr(ErrorDialog, "show_error", classmethod(fake_show_error))
    return shown


def test_gui_describe_uses_domain_messages_and_flags_unexpected():
    assert describe(ErrorInfo("AuthenticationError", "wrong user name or PIN")) == (
        "Wrong user name or PIN."
    )
    text = describe(ErrorInfo("ZeroDivisionError", "division by zero"))
    assert text == "Unexpected error (ZeroDivisionError): division by zero"


def test_gui_presenter_writes_status_bar_and_shows_one_dialog(qtbot, dialogs):
    bar = QStatusBar()
    qtbot.addWidget(bar)
    presenter = ErrorPresenter()
    presenter.attach(bar, None)
    presenter.show_in_status(ErrorInfo("DatabaseLockedError", "the database is locked"))
    assert "The database is locked." in bar.currentMessage()
    assert dialogs == []
    presenter.show_dialog(ErrorInfo("KeyError", "'x'", "Traceback ..."))
    assert len(dialogs) == 1
    assert dialogs[0][2] == "Traceback ..."


def test_gui_excepthook_logs_every_error_but_shows_one_dialog(qapp, dialogs, caplog):
    from app.gui_main import ExceptHook

    hook = ExceptHook()
    hook.install()
    try:
        assert sys.excepthook is hook
        for _ in range(3):
            try:
                _ = 1 / 0
            except ZeroDivisionError:
                hook(*sys.exc_info())
    finally:
        hook.uninstall()
    assert sys.excepthook is not hook
    assert len(dialogs) == 1
    assert "ZeroDivisionError" in dialogs[0][1]
    assert sum("unhandled error" in r.message for r in caplog.records) == 3


@dataclass(frozen=True)
class _Pareto:
    code: str
    count: int


@dataclass(frozen=True)
class _Report:
    boards: int = 12
    false_call_ppm: float = 1234.5
    fpy: float = 0.9375
    operator: str = "Ada"
    pareto: tuple[_Pareto, ...] = field(default=(_Pareto("bridge", 3),))


def test_gui_report_rows_flatten_a_report_dataclass():
    rows = dict(report_rows(_Report()))
    assert rows["Boards"] == "12"
    assert rows["False call PPM"] == "1,234.5"
    assert rows["FPY"] == "0.938"
    assert rows["Pareto"] == "1 entries"
    assert label_of("review_minutes") == "Review minutes"


def test_gui_item_models_pass_qt_model_tester(qtmodeltester):
    qtmodeltester.check(FiguresTableModel(report_rows(_Report())))
    users = [SimpleNamespace(id=1, name="Ada", role="admin", active=True)]
    model = UsersTableModel(users)
    qtmodeltester.check(model)
    assert model.rowCount() == 1


def test_gui_admin_adds_a_user_from_settings(
    qtbot, main_window, admin_user, log_in, monkeypatch
):
    s = main_window()
    s.shell.start()
    log_in(s)
    screen = s.window.screens[-1]
    assert not screen.users_box.isHidden()
    qtbot.waitUntil(lambda: screen.users_model.rowCount() == 1, timeout=10_000)

    request = NewUserRequest(name="Ivan Inspector", role="inspector", pin="1357")
    monkeypatch.setattr(AddUserDialog, "ask", classmethod(lambda cls, *a: request))
    with qtbot.waitSignal(s.station.users.user_created, timeout=10_000):
        screen.add_user_button.click()
    qtbot.waitUntil(lambda: screen.users_model.rowCount() == 2, timeout=10_000)
    names = {u.name for u in s.db.users.list_users()}
    assert names == {ADMIN_NAME, "Ivan Inspector"}


def test_gui_inspector_sees_no_reports_and_no_user_admin(
    qtbot, main_window, admin_user, log_in
):
    s = main_window()
    s.db.users.create_user("Ivan", "inspector", "1357", actor=admin_user)
    s.shell.start()
    log_in(s, "Ivan", "1357")
    reports, settings = s.window.screens[3], s.window.screens[-1]
    assert reports.stack.currentIndex() == reports.PAGE_NOT_ALLOWED
    assert settings.users_box.isHidden()
    assert not settings.station_box.isEnabled()
    assert s.window.role_label.text() == "Role: Inspector"


def test_gui_reports_tab_shows_current_shift_figures(
    qtbot, main_window, admin_user, log_in
):
    s = main_window()
    s.shell.start()
    log_in(s)
    reports = s.window.screens[3]
    assert reports.stack.currentIndex() == reports.PAGE_FIGURES
    qtbot.waitUntil(lambda: reports.model.rowCount() > 0, timeout=10_000)


def test_gui_station_settings_validate_thresholds(qtbot, main_window, station_settings):
    s = main_window()
    screen = s.window.screens[-1]
    screen.t_lo_spin.setValue(0.7)  # above 0.5: invalid
    screen.save_button.click()
    assert screen.station_note.text().startswith("Not saved:")
    screen.t_lo_spin.setValue(0.2)
    screen.t_hi_spin.setValue(0.8)
    screen.save_button.click()
    assert screen.station_note.text().startswith("Saved.")
    assert "t_lo = 0.2" in (station_settings.data_dir / "settings.toml").read_text()


def test_gui_startup_fails_cleanly_on_an_unusable_database_folder(
    qapp, tmp_path, dialogs
):
    from app.gui_main import run_gui

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database folder should be")
    rc = run_gui(SimpleNamespace(db=str(blocker / "inspection.db"), demo=False))
    assert rc == 1
    assert len(dialogs) == 1
    title, text, _ = dialogs[0]
    assert "cannot start" in title
    assert "not-a-folder" in text
    assert sys.excepthook is sys.__excepthook__ or "ExceptHook" not in repr(
        sys.excepthook
    )


def test_gui_startup_refuses_a_newer_schema(qapp, tmp_path, dialogs):
    from app.gui_main import run_gui
    from db import open_database

    path = tmp_path / "newer.db"
    open_database(str(path)).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    rc = run_gui(SimpleNamespace(db=str(path), demo=False))
    assert rc == 1
    assert len(dialogs) == 1
    assert "newer" in dialogs[0][1].lower()
