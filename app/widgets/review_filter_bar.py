"""The Review tab's filter and sort bar: board, product, refdes, P(defect) range, sort.

Edits are debounced (`FILTER_DELAY_MS`) so typing a serial does not reload the queue on
every key; Return applies at once.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QWidget,
)

from db import QueueSort, ReviewFilter

FILTER_DELAY_MS = 300
SORTS = (
    ("Highest P(defect) first", QueueSort.P_DESC),
    ("Lowest P(defect) first", QueueSort.P_ASC),
    ("Board, refdes", QueueSort.BOARD),
    ("Refdes", QueueSort.REFDES),
    ("Oldest first", QueueSort.OLDEST),
)


class ReviewFilterBar(QWidget):
    """Filter widgets of the review queue; emits when the filter should be applied."""

    # The filter changed and the debounce elapsed: reload the queue.
    filters_changed = Signal()
    # Return was pressed in a text field: reload now and go to the queue.
    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DELAY_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

        self.board_edit = QLineEdit(self)
        self.board_edit.setObjectName("filterBoard")
        self.board_edit.setPlaceholderText("Board serial")
        self.product_combo = QComboBox(self)
        self.product_combo.setObjectName("filterProduct")
        self.product_combo.addItem("All products", None)
        self.refdes_edit = QLineEdit(self)
        self.refdes_edit.setObjectName("filterRefdes")
        self.refdes_edit.setPlaceholderText("Refdes")
        self.p_min_spin = QDoubleSpinBox(self)
        self.p_max_spin = QDoubleSpinBox(self)
        for spin, value in ((self.p_min_spin, 0.0), (self.p_max_spin, 1.0)):
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(2)
            spin.setValue(value)
            spin.setKeyboardTracking(False)
        self.sort_combo = QComboBox(self)
        self.sort_combo.setObjectName("sortCombo")
        for text, value in SORTS:
            self.sort_combo.addItem(text, value.value)
        for combo in (self.product_combo, self.sort_combo):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            combo.setMaximumWidth(210)
        for edit in (self.board_edit, self.refdes_edit):
            edit.setClearButtonEnabled(True)
            edit.setMinimumWidth(70)
            edit.setMaximumWidth(130)
            edit.textChanged.connect(self._on_edit_text_changed)
            edit.returnPressed.connect(self._on_edit_return_pressed)
        self.product_combo.currentIndexChanged.connect(self._on_combo_changed)
        self.sort_combo.currentIndexChanged.connect(self._on_combo_changed)
        self.p_min_spin.valueChanged.connect(self._on_spin_changed)
        self.p_max_spin.valueChanged.connect(self._on_spin_changed)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.board_edit)
        row.addWidget(self.product_combo, 1)
        row.addWidget(self.refdes_edit)
        row.addWidget(QLabel("P", self))
        row.addWidget(self.p_min_spin)
        row.addWidget(QLabel("–", self))
        row.addWidget(self.p_max_spin)
        row.addWidget(self.sort_combo, 1)
        row.addStretch(0)

    def filters(self) -> ReviewFilter:
        """The filter the widgets describe."""
        p_min, p_max = self.p_min_spin.value(), self.p_max_spin.value()
        return ReviewFilter(
            board_serial=self.board_edit.text().strip() or None,
            product=self.product_combo.currentData() or None,
            refdes=self.refdes_edit.text().strip() or None,
            p_min=p_min if p_min > 0 else None,
            p_max=p_max if p_max < 1 else None,
            sort=QueueSort(self.sort_combo.currentData()),
        )

    @Slot(object)
    def set_products(self, products: object) -> None:
        """Offer these product names, keeping the current choice when it remains."""
        current = self.product_combo.currentData()
        self.product_combo.blockSignals(True)
        self.product_combo.clear()
        self.product_combo.addItem("All products", None)
        for name in products:  # type: ignore[attr-defined]
            self.product_combo.addItem(name, name)
        index = self.product_combo.findData(current)
        self.product_combo.setCurrentIndex(max(index, 0))
        self.product_combo.blockSignals(False)

    @Slot(str)
    def _on_edit_text_changed(self, _text: str) -> None:
        self._timer.start()

    @Slot()
    def _on_edit_return_pressed(self) -> None:
        self._timer.stop()
        self.submitted.emit()

    @Slot(int)
    def _on_combo_changed(self, _index: int) -> None:
        self._timer.start()

    @Slot(float)
    def _on_spin_changed(self, _value: float) -> None:
        self._timer.start()

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.filters_changed.emit()
