"""`UsersController`: list users; an administrator adds one (off the GUI thread)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

if TYPE_CHECKING:
    from app.workers.task import TaskRunner

# product.md §2, in order of increasing rights (db.models.Role values).
ROLES: tuple[str, ...] = ("inspector", "technician", "supervisor", "engineer", "admin")


@dataclass(frozen=True)
class NewUserRequest:
    """What the "Add user" dialog returns."""

    name: str
    role: str
    pin: str


def _list_users(db: Any) -> list[Any]:
    return list(db.users.list_users())


def _create_user(db: Any, request: NewUserRequest, actor: Any) -> Any:
    return db.users.create_user(request.name, request.role, request.pin, actor=actor)


class UsersController(QObject):
    """User administration for the Settings screen."""

    # The station's users: list[UserDTO].
    users_listed = Signal(object)
    # A user was created: the new UserDTO.
    user_created = Signal(object)
    # Listing or creating failed: an ErrorInfo.
    failed = Signal(object)

    def __init__(
        self, database: Any, runner: TaskRunner, parent: QObject | None = None
    ):
        super().__init__(parent)
        self._db = database
        self._runner = runner

    @staticmethod
    def roles() -> tuple[str, ...]:
        """The roles a user can have, least rights first."""
        return ROLES

    def refresh(self) -> None:
        """Fetch the user list; answers on `users_listed`."""
        task = self._runner.submit(_list_users, self._db)
        task.signals.result.connect(self._on_list_result)
        task.signals.failed.connect(self._on_task_failed)
        self._runner.start(task)

    def create_user(self, request: NewUserRequest, *, actor: Any) -> None:
        """Create a user on behalf of `actor` (an admin UserDTO); then refreshes."""
        task = self._runner.submit(_create_user, self._db, request, actor)
        task.signals.result.connect(self._on_create_result)
        task.signals.failed.connect(self._on_task_failed)
        self._runner.start(task)

    @Slot(object)
    def _on_list_result(self, users: object) -> None:
        self.users_listed.emit(users)

    @Slot(object)
    def _on_create_result(self, user: object) -> None:
        self.user_created.emit(user)
        self.refresh()

    @Slot(object)
    def _on_task_failed(self, error: object) -> None:
        self.failed.emit(error)
