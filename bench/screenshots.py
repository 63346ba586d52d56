"""Save screenshots of the real GUI (offscreen) to docs/screenshots/.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]

Builds a station on a temporary database exactly as `soldernet gui` does, logs in
through the login dialog, and grabs the login dialog plus every tab in the light and
dark themes as `<name>-<theme>.png`. Nothing outside a temporary folder is touched.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from app.bootstrap import build_shell, build_station
from app.gui_main import configure_application
from app.settings import Settings
from app.theme import THEMES, apply_theme
from app.widgets.login_dialog import LoginDialog

log = logging.getLogger("screenshots")

ADMIN, PIN = "Ada Admin", "2468"
WINDOW_SIZE = (1280, 800)
COLLEAGUES = (
    ("Ivan Inspector", "inspector"),
    ("Tess Technician", "technician"),
    ("Sam Supervisor", "supervisor"),
    ("Erin Engineer", "engineer"),
)
ALL_USERS = 1 + len(COLLEAGUES)


def wait_until(
    app: QApplication, predicate: Callable[[], bool], timeout: float = 15
) -> None:
    """Run the event loop until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            msg = "timed out waiting for the GUI"
            raise TimeoutError(msg)
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def settle(app: QApplication, seconds: float = 0.15) -> None:
    """Let layouts and style changes finish."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(widget: QWidget, path: Path) -> None:
    """Grab `widget` to a PNG file."""
    if not widget.grab().save(str(path)):
        msg = f"could not write {path}"
        raise OSError(msg)
    log.info("wrote %s", path)


def add_colleagues(db: object) -> None:
    """A few more users so the Settings user list looks like a real station."""
    users = db.users  # type: ignore[attr-defined]
    admin = users.authenticate(ADMIN, PIN)
    for name, role in COLLEAGUES:
        users.create_user(name, role, "1357", actor=admin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    configure_application(app)
    with tempfile.TemporaryDirectory(prefix="soldernet-shots-") as tmp:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        settings = Settings(data_dir=Path(tmp), db_url=str(Path(tmp) / "inspection.db"))
        station = build_station(settings)
        shell = build_shell(station)
        dialog, window = shell.login_dialog, shell.main_window
        try:
            for theme in THEMES:
                apply_theme(app, theme)
                shell.start()
                wait_until(
                    app, lambda: dialog.stack.currentIndex() != dialog.PAGE_CHECKING
                )
                if dialog.stack.currentIndex() == LoginDialog.PAGE_CREATE_ADMIN:
                    dialog.admin_name_edit.setText(ADMIN)
                    settle(app)
                    save(dialog, out / f"first-run-{theme}.png")
                    dialog.admin_pin_edit.setText(PIN)
                    dialog.admin_repeat_edit.setText(PIN)
                    dialog.create_admin_button.click()
                    wait_until(
                        app,
                        lambda: dialog.stack.currentIndex() == LoginDialog.PAGE_LOGIN,
                    )
                    add_colleagues(station.database)
                dialog.name_edit.setText(ADMIN)
                dialog.pin_edit.setText(PIN)
                settle(app)
                save(dialog, out / f"login-{theme}.png")
                dialog.login_button.click()
                wait_until(app, window.isVisible)
                window.resize(*WINDOW_SIZE)
                station.settings_controller.set_theme(theme)
                for index, screen in enumerate(window.screens):
                    window.tabs.setCurrentIndex(index)
                    if screen.TITLE == "Reports":
                        wait_until(app, lambda s=screen: s.model.rowCount() > 0)
                    if screen.TITLE == "Settings":
                        wait_until(
                            app, lambda s=screen: s.users_model.rowCount() == ALL_USERS
                        )
                    settle(app)
                    save(window, out / f"{screen.TITLE.lower()}-{theme}.png")
                window.logout_action.trigger()
                wait_until(app, dialog.isVisible)
        finally:
            shell.shutdown()
            station.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
