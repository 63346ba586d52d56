"""`ShellController`: moves the station between the login dialog and the main window.

first run -> create administrator -> login -> main window -> logout (shift closed) ->
login again. Closing the main window closes the shift first, then asks to quit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from app.widgets.error_presenter import describe

if TYPE_CHECKING:
    from app.controllers.session_controller import SessionController, UserSession
    from app.main_window import MainWindow
    from app.widgets.error_presenter import ErrorPresenter
    from app.widgets.login_dialog import LoginDialog
    from app.workers.errors import ErrorInfo

log = logging.getLogger(__name__)


class ShellController(QObject):
    """Wires `SessionController` to `LoginDialog` and `MainWindow`."""

    # The application should quit (login dialog closed, or the last shift closed).
    quit_requested = Signal()

    def __init__(
        self,
        session: SessionController,
        login_dialog: LoginDialog,
        main_window: MainWindow,
        presenter: ErrorPresenter,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.login_dialog = login_dialog
        self.main_window = main_window
        self._presenter = presenter
        self._quitting = False

        session.first_run_checked.connect(self._on_session_first_run_checked)
        session.admin_created.connect(self._on_session_admin_created)
        session.admin_creation_failed.connect(self._on_session_admin_creation_failed)
        session.logged_in.connect(self._on_session_logged_in)
        session.login_failed.connect(self._on_session_login_failed)
        session.logged_out.connect(self._on_session_logged_out)
        session.logout_failed.connect(self._on_session_logout_failed)
        session.failed.connect(self._on_session_failed)
        session.busy_changed.connect(self._on_session_busy_changed)
        login_dialog.admin_requested.connect(self._on_login_dialog_admin_requested)
        login_dialog.login_requested.connect(self._on_login_dialog_login_requested)
        login_dialog.rejected.connect(self._on_login_dialog_rejected)
        main_window.logout_requested.connect(self._on_main_window_logout_requested)
        main_window.close_requested.connect(self._on_main_window_close_requested)

    def start(self) -> None:
        """Show the login dialog and ask the database whether this is the first run."""
        self.login_dialog.show_checking()
        self.login_dialog.show()
        self.session.check_first_run()

    def shutdown(self) -> None:
        """Let both windows close without the database (tests, fatal errors)."""
        self._quitting = True
        self.main_window.allow_close()
        self.main_window.close()
        self.login_dialog.hide()

    # -- session -------------------------------------------------------------------
    @Slot(bool)
    def _on_session_first_run_checked(self, first_run: bool) -> None:
        if first_run:
            self.login_dialog.show_create_admin()
        else:
            self.login_dialog.show_login()

    @Slot(object)
    def _on_session_admin_created(self, user: object) -> None:
        self.login_dialog.show_login(
            name=str(getattr(user, "name", "")),
            note="Administrator created. Enter the PIN again to log in.",
        )

    @Slot(object)
    def _on_session_admin_creation_failed(self, error: ErrorInfo) -> None:
        self.login_dialog.show_error(describe(error))

    @Slot(object)
    def _on_session_logged_in(self, session: UserSession) -> None:
        self.login_dialog.hide()
        self.main_window.set_session(session)
        self.main_window.show()
        self.main_window.statusBar().showMessage(
            f"Welcome, {session.user.name}. Your shift is open.", 5000
        )

    @Slot(object)
    def _on_session_login_failed(self, error: ErrorInfo) -> None:
        self.login_dialog.show_error(describe(error))

    @Slot(object)
    def _on_session_logged_out(self, shift: object) -> None:
        self.main_window.set_session(None)
        if self._quitting:
            self.main_window.allow_close()
            self.main_window.close()
            self.quit_requested.emit()
            return
        self.main_window.hide()
        self.login_dialog.show_login(note="Shift closed. The next operator can log in.")
        self.login_dialog.show()

    @Slot(object)
    def _on_session_logout_failed(self, error: ErrorInfo) -> None:
        self._presenter.show_dialog(error)
        if self._quitting:
            # The shift stays open and is resumed at the next login.
            log.warning("quitting with the shift still open")
            self.main_window.allow_close()
            self.main_window.close()
            self.quit_requested.emit()

    @Slot(object)
    def _on_session_failed(self, error: ErrorInfo) -> None:
        self.login_dialog.show_error(describe(error))

    @Slot(bool)
    def _on_session_busy_changed(self, busy: bool) -> None:
        self.main_window.set_busy(busy)

    # -- widgets -------------------------------------------------------------------
    @Slot(str, str)
    def _on_login_dialog_admin_requested(self, name: str, pin: str) -> None:
        self.session.create_first_admin(name, pin)

    @Slot(str, str)
    def _on_login_dialog_login_requested(self, name: str, pin: str) -> None:
        self.session.login(name, pin)

    @Slot()
    def _on_login_dialog_rejected(self) -> None:
        if self.session.session is None and not self.main_window.isVisible():
            self.quit_requested.emit()

    @Slot()
    def _on_main_window_logout_requested(self) -> None:
        self.session.logout()

    @Slot()
    def _on_main_window_close_requested(self) -> None:
        self._quitting = True
        self.main_window.statusBar().showMessage("Closing your shift…")
        self.session.logout()
