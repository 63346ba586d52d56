"""The application shell end to end: first run, login, tabs, status bar, logout, theme,
window state. Real SQLite file in tmp_path; every database call runs on the pool."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from app.widgets.login_dialog import LoginDialog

pytestmark = pytest.mark.gui

ADMIN_NAME, ADMIN_PIN = "Ada Admin", "2468"
TAB_TITLES = ["Inspect", "Review", "Rework", "Reports", "Model", "Settings"]


def _tab_titles(window) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def test_gui_first_run_creates_admin_then_logs_in(qtbot, main_window):
    s = main_window()
    dialog = s.dialog
    s.shell.start()
    assert dialog.isVisible()
    qtbot.waitUntil(
        lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_CREATE_ADMIN
    )

    qtbot.keyClicks(dialog.admin_name_edit, ADMIN_NAME)
    qtbot.keyClicks(dialog.admin_pin_edit, ADMIN_PIN)
    qtbot.keyClicks(dialog.admin_repeat_edit, ADMIN_PIN)
    with qtbot.waitSignal(s.station.session.admin_created, timeout=10_000):
        qtbot.mouseClick(dialog.create_admin_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN)
    assert dialog.name_edit.text() == ADMIN_NAME

    qtbot.keyClicks(dialog.pin_edit, ADMIN_PIN)
    with qtbot.waitSignal(s.station.session.logged_in, timeout=10_000):
        qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(s.window.isVisible)

    assert not dialog.isVisible()
    assert _tab_titles(s.window) == TAB_TITLES
    assert s.window.user_label.text() == f"User: {ADMIN_NAME}"
    assert s.window.role_label.text() == "Role: Admin"
    session = s.station.session.session
    assert s.window.shift_label.text().startswith(f"Shift #{session.shift.id} since ")
    assert s.window.database_label.text() == "Database: inspection.db"
    assert s.window.model_label.text().startswith("Model: ")
    assert s.db.shifts.current_shift(session.user.id).id == session.shift.id


def test_gui_mismatched_admin_pins_are_refused_in_the_dialog(qtbot, main_window):
    s = main_window()
    s.shell.start()
    dialog = s.dialog
    qtbot.waitUntil(
        lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_CREATE_ADMIN
    )
    dialog.admin_name_edit.setText(ADMIN_NAME)
    dialog.admin_pin_edit.setText("1234")
    dialog.admin_repeat_edit.setText("1235")
    dialog.create_admin_button.click()
    assert dialog.error_label.isVisible()
    assert "differ" in dialog.error_label.text()
    assert not s.db.users.has_users()


def test_gui_wrong_pin_shows_error_and_does_not_log_in(qtbot, main_window, admin_user):
    s = main_window()
    dialog = s.dialog
    s.shell.start()
    qtbot.waitUntil(lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN)
    dialog.name_edit.setText(ADMIN_NAME)
    dialog.pin_edit.setText("9999")
    with qtbot.waitSignal(s.station.session.login_failed, timeout=10_000):
        dialog.login_button.click()
    qtbot.waitUntil(dialog.error_label.isVisible)
    assert "PIN" in dialog.error_label.text()
    assert dialog.pin_edit.text() == ""
    assert dialog.stack.isEnabled()
    assert not s.window.isVisible()
    assert s.station.session.session is None
    assert s.db.shifts.current_shift(admin_user.id) is None


def test_gui_logout_closes_shift_and_returns_to_login(
    qtbot, main_window, admin_user, log_in
):
    s = main_window()
    s.shell.start()
    log_in(s)
    shift_id = s.station.session.session.shift.id

    with qtbot.waitSignal(s.station.session.logged_out, timeout=10_000) as blocker:
        s.window.logout_action.trigger()
    closed = blocker.args[0]
    assert closed.id == shift_id
    assert closed.ended_at is not None
    assert s.db.shifts.current_shift(admin_user.id) is None
    qtbot.waitUntil(s.dialog.isVisible)
    assert not s.window.isVisible()
    assert s.dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN
    assert s.window.user_label.text() == "Not logged in"

    # Handover: the next login opens a fresh shift.
    log_in(s)
    assert s.station.session.session.shift.id != shift_id


def test_gui_closing_the_window_closes_the_shift_then_quits(
    qtbot, main_window, admin_user, log_in
):
    s = main_window()
    s.shell.start()
    log_in(s)
    with qtbot.waitSignal(s.shell.quit_requested, timeout=10_000):
        s.window.close()
    assert not s.window.isVisible()
    assert s.db.shifts.current_shift(admin_user.id) is None


def test_gui_theme_switch_changes_palette(qtbot, qapp, main_window, station_settings):
    from app.theme import apply_theme

    apply_theme(qapp, "light")
    s = main_window()
    light_window = qapp.palette().color(QPalette.ColorRole.Window)
    assert light_window.lightness() > 200

    s.window.theme_actions["dark"].trigger()
    dark_window = qapp.palette().color(QPalette.ColorRole.Window)
    assert dark_window.lightness() < 60
    assert qapp.palette().color(QPalette.ColorRole.WindowText).lightness() > 200
    assert s.station.settings_controller.settings.theme == "dark"
    assert 'theme = "dark"' in (station_settings.data_dir / "settings.toml").read_text()
    settings_screen = s.window.screens[-1]
    assert settings_screen.theme_combo.currentData() == "dark"

    settings_screen.theme_combo.setCurrentIndex(
        settings_screen.theme_combo.findData("light")
    )
    assert qapp.palette().color(QPalette.ColorRole.Window) == light_window
    assert s.window.theme_actions["light"].isChecked()


def test_gui_window_geometry_restored_on_next_start(qtbot, main_window):
    first = main_window()
    # Within the offscreen platform's 800x600 screen: restoreGeometry clamps to it.
    first.window.resize(710, 507)
    first.window.move(40, 30)
    first.window.tabs.setCurrentIndex(4)
    first.window.show()
    qtbot.waitExposed(first.window)
    first.window.save_ui_state()
    first.shell.shutdown()

    second = main_window()
    assert first.window.height() == 507  # not the 1280x800 default
    assert second.window.size() == first.window.size()
    # Position: equal up to the window frame, which is only known once shown.
    assert (second.window.pos() - first.window.pos()).manhattanLength() <= 8
    assert second.window.tabs.currentIndex() == 4


class _ThreadCheckingProxy:
    """Wraps a db service; records, per call, whether it ran on the GUI thread."""

    def __init__(self, target, calls: list[tuple[str, bool]]) -> None:
        self._target = target
        self._calls = calls

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def wrapper(*args, **kwargs):
            on_gui = threading.current_thread() is threading.main_thread()
            self._calls.append((name, on_gui))
            return attr(*args, **kwargs)

        return wrapper


def test_gui_no_database_call_runs_on_the_gui_thread(qtbot, main_window, log_in):
    s = main_window()
    calls: list[tuple[str, bool]] = []
    for service in ("users", "shifts", "reports"):
        setattr(s.db, service, _ThreadCheckingProxy(getattr(s.db, service), calls))
    dialog = s.dialog
    s.shell.start()
    qtbot.waitUntil(
        lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_CREATE_ADMIN
    )
    dialog.admin_name_edit.setText(ADMIN_NAME)
    dialog.admin_pin_edit.setText(ADMIN_PIN)
    dialog.admin_repeat_edit.setText(ADMIN_PIN)
    dialog.create_admin_button.click()
    log_in(s)
    reports = s.window.screens[3]
    qtbot.waitUntil(lambda: reports.model.rowCount() > 0, timeout=10_000)
    with qtbot.waitSignal(s.station.session.logged_out, timeout=10_000):
        s.window.logout_action.trigger()
    names = {name for name, _ in calls}
    assert {"has_users", "create_user", "authenticate", "open_shift"} <= names
    assert {"close_shift", "shift_report", "list_users"} <= names
    assert not [name for name, on_gui in calls if on_gui]


def test_gui_demo_flag_opens_a_separate_demo_database(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from app.bootstrap import resolve_settings

    monkeypatch.setenv("SOLDERNET_HOME", str(tmp_path / "home"))
    demo = resolve_settings(SimpleNamespace(db=None, demo=True))
    assert demo.demo
    assert demo.database == str(tmp_path / "home" / "demo.db")
    explicit = resolve_settings(SimpleNamespace(db=str(tmp_path / "x.db"), demo=False))
    assert explicit.database == str(tmp_path / "x.db")
