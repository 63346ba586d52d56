"""`ReworkModel`: the repair list as a table of `ReworkItemDTO`s.

Rows come grouped by board then defect code (the service's order); the board and code
cells are written only on the first row of their group, so the groups read at a glance.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from app.widgets.defect_code_picker import code_label

ModelIndex = QModelIndex | QPersistentModelIndex

COLUMNS = ("Board", "Defect", "Refdes", "Pin", "P(defect)", "Source", "Status")
COL_BOARD, COL_CODE, COL_REFDES, COL_PIN, COL_P, COL_SOURCE, COL_STATUS = range(7)
ItemRole = Qt.ItemDataRole.UserRole + 1

STATUS_WORDS = {
    "open": "Open",
    "repaired": "Repaired",
    "scrapped": "Scrapped",
    "not_a_defect": "Not a defect",
    "cancelled": "Cancelled",
}


def defect_text(item: Any) -> str:
    """The defect code, or what put the joint on the list."""
    if item.defect_code:
        return code_label(item.defect_code)
    return "Model call (no code)"


class ReworkModel(QAbstractTableModel):
    """Rows of `ReworkItemDTO`."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[Any] = []

    def set_items(self, items: list[Any]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()

    def item(self, row: int) -> Any:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, item_id: int) -> int:
        for row, item in enumerate(self._items):
            if item.id == item_id:
                return row
        return -1

    def items_of_board(self, board_id: int) -> list[Any]:
        return [i for i in self._items if i.board_id == board_id]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def _first_of_group(self, row: int, col: int) -> bool:
        if row == 0:
            return True
        a, b = self._items[row], self._items[row - 1]
        if a.board_id != b.board_id:
            return True
        return col == COL_CODE and defect_text(a) != defect_text(b)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        row, col = index.row(), index.column()
        item = self._items[row]
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            if col in (COL_BOARD, COL_CODE) and not self._first_of_group(row, col):
                return ""
            return self._display(item, col)
        if role == Qt.ItemDataRole.ToolTipRole and col in (COL_BOARD, COL_CODE):
            return f"{item.board_serial} ({item.product}) · {defect_text(item)}"
        if role == Qt.ItemDataRole.FontRole and col in (COL_BOARD, COL_CODE):
            font = QFont()
            font.setBold(True)
            return font
        return None

    @staticmethod
    def _display(item: Any, col: int) -> str:
        if col == COL_BOARD:
            return item.board_serial
        if col == COL_CODE:
            return defect_text(item)
        if col == COL_REFDES:
            return item.refdes
        if col == COL_PIN:
            return item.pin
        if col == COL_P:
            return f"{item.p:.2f}"
        if col == COL_SOURCE:
            return "Inspector" if str(item.source) == "verdict" else "Model"
        status = STATUS_WORDS.get(str(item.status), str(item.status))
        if item.technician_name and str(item.status) != "open":
            status += f" ({item.technician_name})"
        return status

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
