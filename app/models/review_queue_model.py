"""`ReviewQueueModel`: the review queue as a table of `ReviewItem` DTOs, paged lazily.

The model never touches the database: `fetchMore` emits `fetch_requested(offset,
limit)`, the screen forwards it to the controller, and the page comes back through
`add_page`. Pages of an older filter (`generation`) are dropped.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from app.theme import REGION_COLOURS, REGION_LABELS

ModelIndex = QModelIndex | QPersistentModelIndex

COLUMNS = ("Board", "Product", "Refdes", "Pin", "Package", "P(defect)", "Region")
COL_BOARD, COL_PRODUCT, COL_REFDES, COL_PIN, COL_PACKAGE, COL_P, COL_REGION = range(7)
# The row's ReviewItem DTO.
ItemRole = Qt.ItemDataRole.UserRole + 1
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_ITEM = int(ItemRole)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _ALIGN, _DECORATION, _ITEM})
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class ReviewQueueModel(QAbstractTableModel):
    """Rows of `ReviewItem` DTOs; more rows arrive page by page on demand."""

    # The view wants more rows: (offset, limit).
    fetch_requested = Signal(int, int)

    def __init__(self, page_size: int = 100, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[Any] = []
        self._total = 0
        self._generation = -1
        self._page_size = page_size
        self._pending = False

    # -- data ------------------------------------------------------------------------
    @property
    def total(self) -> int:
        """Rows in the whole queue (loaded or not)."""
        return self._total

    @property
    def generation(self) -> int:
        """The filter generation the rows belong to."""
        return self._generation

    def reset(self, generation: int) -> None:
        """Empty the model for a new filter; the first page is requested by the view."""
        self.beginResetModel()
        self._items = []
        self._total = 0
        self._generation = generation
        self._pending = False
        self.endResetModel()

    def add_page(
        self, generation: int, offset: int, items: list[Any], total: int
    ) -> bool:
        """Append a page (ignored if stale or not contiguous); returns whether used."""
        if generation != self._generation:
            return False
        self._pending = False
        self._total = total
        if offset != len(self._items):
            # Rows were removed since the request: keep what is not already shown.
            known = {i.joint_id for i in self._items}
            items = [i for i in items if i.joint_id not in known]
        if items:
            start = len(self._items)
            self.beginInsertRows(QModelIndex(), start, start + len(items) - 1)
            self._items.extend(items)
            self.endInsertRows()
        self._total = max(total, len(self._items))
        return True

    def item(self, row: int) -> Any:
        """The DTO of `row`, or None."""
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, joint_id: int) -> int:
        """The row showing `joint_id`, or -1."""
        for row, item in enumerate(self._items):
            if item.joint_id == joint_id:
                return row
        return -1

    def remove_joint(self, joint_id: int) -> int:
        """Remove a joint that got a verdict; returns its former row or -1."""
        row = self.row_of(joint_id)
        if row < 0:
            return -1
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._items[row]
        self.endRemoveRows()
        self._total = max(self._total - 1, len(self._items))
        return row

    def insert_item(self, row: int, item: Any) -> int:
        """Put a joint back (after an undo) at `row`; returns the row used."""
        existing = self.row_of(item.joint_id)
        if existing >= 0:
            return existing
        row = max(0, min(row, len(self._items)))
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.insert(row, item)
        self.endInsertRows()
        self._total += 1
        return row

    # -- lazy loading ----------------------------------------------------------------
    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid() or self._generation < 0:
            return False
        return not self._pending and len(self._items) < self._total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._pending = True
        self.fetch_requested.emit(len(self._items), self._page_size)

    def request_first_page(self) -> None:
        """Ask for the first page of the current generation."""
        self._pending = True
        self.fetch_requested.emit(0, self._page_size)

    # -- QAbstractTableModel ---------------------------------------------------------
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

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called thousands of times per repaint and column resize (4 columns x ~8
        # roles x every row shown): roles nobody asks for leave at once, and the
        # role constants are plain ints (docs/gui-performance.md).
        if role not in _ROLES:
            return None
        row = index.row()
        if not 0 <= row < len(self._items) or not index.isValid():
            return None
        item = self._items[row]
        col = index.column()
        if role == _DISPLAY:
            return self._display(item, col)
        if role == _ITEM:
            return item
        if col == COL_P:
            if role == _TOOLTIP:
                return (
                    f"Thresholds: {item.t_lo:.2f} / {item.t_hi:.2f} "
                    f"({item.model_version})"
                )
            if role == _ALIGN:
                return _RIGHT
        if role == _DECORATION and col == COL_REGION:
            return QColor(REGION_COLOURS.get(item.region, "#888888"))
        return None

    @staticmethod
    def _display(item: Any, col: int) -> str:
        if col == COL_BOARD:
            return item.board_serial
        if col == COL_PRODUCT:
            return item.product
        if col == COL_REFDES:
            return item.refdes
        if col == COL_PIN:
            return item.pin
        if col == COL_PACKAGE:
            return item.package
        if col == COL_P:
            return f"{item.p:.2f}"
        return REGION_LABELS.get(item.region, str(item.region))

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
