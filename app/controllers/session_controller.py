"""`SessionController`: first run, login, shift open/close (all off the GUI thread)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

if TYPE_CHECKING:
    from app.workers.task import TaskRunner

log = logging.getLogger(__name__)

ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class UserSession:
    """Who is logged in and their open shift (DTOs only)."""

    user: Any  # db UserDTO(id, name, role, active)
    shift: Any  # db ShiftDTO(id, user_id, started_at, ended_at)

    @property
    def role(self) -> str:
        """The user's role as a plain string (`inspector`, ..., `admin`)."""
        return str(self.user.role)


def _has_users(db: Any) -> bool:
    return bool(db.users.has_users())


def _create_first_admin(db: Any, name: str, pin: str) -> Any:
    if db.users.has_users():
        msg = "This station already has users; log in as an administrator to add more."
        raise ValueError(msg)
    return db.users.create_user(name, ADMIN_ROLE, pin, actor=None)


def _login(db: Any, name: str, pin: str) -> UserSession:
    user = db.users.authenticate(name, pin)
    # A shift left open (crash, power cut) is resumed rather than duplicated.
    shift = db.shifts.current_shift(user.id) or db.shifts.open_shift(user)
    return UserSession(user=user, shift=shift)


def _logout(db: Any, session: UserSession) -> Any:
    return db.shifts.close_shift(session.shift.id, user=session.user)


class SessionController(QObject):
    """Owns the logged-in `UserSession`; every database call runs on the task pool."""

    # True when the database has no user yet (the first run creates an admin).
    first_run_checked = Signal(bool)
    # The first administrator was created: a UserDTO.
    admin_created = Signal(object)
    # Creating the first administrator failed: an ErrorInfo.
    admin_creation_failed = Signal(object)
    # Login succeeded and a shift is open: a UserSession.
    logged_in = Signal(object)
    # Login failed (wrong name or PIN, database problem): an ErrorInfo.
    login_failed = Signal(object)
    # The shift was closed and nobody is logged in: the closed ShiftDTO.
    logged_out = Signal(object)
    # Closing the shift failed: an ErrorInfo (the session is kept).
    logout_failed = Signal(object)
    # Any other background failure (e.g. the first-run check): an ErrorInfo.
    failed = Signal(object)
    # A session call started (True) or ended (False).
    busy_changed = Signal(bool)

    def __init__(
        self, database: Any, runner: TaskRunner, parent: QObject | None = None
    ):
        super().__init__(parent)
        self._db = database
        self._runner = runner
        self._session: UserSession | None = None
        self._pending = 0

    @property
    def session(self) -> UserSession | None:
        """The current session, or None when logged out."""
        return self._session

    @property
    def is_busy(self) -> bool:
        """True while a session call runs in the background."""
        return self._pending > 0

    def check_first_run(self) -> None:
        """Ask the database whether any user exists; answers on `first_run_checked`."""
        task = self._runner.submit(_has_users, self._db)
        task.signals.result.connect(self._on_has_users_result)
        task.signals.failed.connect(self._on_task_failed)
        self._start(task)

    def create_first_admin(self, name: str, pin: str) -> None:
        """Create the station's first administrator (only when no user exists)."""
        task = self._runner.submit(_create_first_admin, self._db, name, pin)
        task.signals.result.connect(self._on_create_admin_result)
        task.signals.failed.connect(self._on_create_admin_failed)
        self._start(task)

    def login(self, name: str, pin: str) -> None:
        """Authenticate and open (or resume) the user's shift."""
        task = self._runner.submit(_login, self._db, name, pin)
        task.signals.result.connect(self._on_login_result)
        task.signals.failed.connect(self._on_login_failed)
        self._start(task)

    def logout(self) -> None:
        """Close the current shift (handover); answers on `logged_out`."""
        if self._session is None:
            self.logged_out.emit(None)
            return
        task = self._runner.submit(_logout, self._db, self._session)
        task.signals.result.connect(self._on_logout_result)
        task.signals.failed.connect(self._on_logout_failed)
        self._start(task)

    def _start(self, task: Any) -> None:
        task.signals.finished.connect(self._on_task_finished)
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        self._runner.start(task)

    @Slot(object)
    def _on_has_users_result(self, has_users: object) -> None:
        self.first_run_checked.emit(not bool(has_users))

    @Slot(object)
    def _on_create_admin_result(self, user: object) -> None:
        log.info("first administrator created")
        self.admin_created.emit(user)

    @Slot(object)
    def _on_create_admin_failed(self, error: object) -> None:
        self.admin_creation_failed.emit(error)

    @Slot(object)
    def _on_login_result(self, session: object) -> None:
        assert isinstance(session, UserSession)
        self._session = session
        log.info("user %s logged in, shift %s", session.user.name, session.shift.id)
        self.logged_in.emit(session)

    @Slot(object)
    def _on_login_failed(self, error: object) -> None:
        self.login_failed.emit(error)

    @Slot(object)
    def _on_logout_result(self, shift: object) -> None:
        log.info("shift closed")
        self._session = None
        self.logged_out.emit(shift)

    @Slot(object)
    def _on_logout_failed(self, error: object) -> None:
        self.logout_failed.emit(error)

    @Slot(object)
    def _on_task_failed(self, error: object) -> None:
        self.failed.emit(error)

    @Slot()
    def _on_task_finished(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)
