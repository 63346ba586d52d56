"""`UsersTableModel`: the station's users for the Settings screen."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

_Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Name", "Role", "Active")


class UsersTableModel(QAbstractTableModel):
    """Read-only table over `UserDTO(id, name, role, active)`."""

    def __init__(self, users: list[Any] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._users: list[Any] = list(users or [])

    def set_users(self, users: list[Any]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self._users = list(users)
        self.endResetModel()

    def user_at(self, row: int) -> Any:
        """The DTO shown in `row`."""
        return self._users[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._users)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._users):
            return None
        user = self._users[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            col = index.column()
            if col == 0:
                return str(user.name)
            if col == 1:
                return str(user.role).capitalize()
            if col == 2:
                return "Yes" if user.active else "No"
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None
