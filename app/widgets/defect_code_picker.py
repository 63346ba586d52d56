"""`DefectCodePicker`: choose the defect code after `D` (digits 1-9, or a list)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from db import DefectCode

# The nine codes on the digit keys, most frequent first (product.md §4); the rest are
# in the "more codes" list.
DIGIT_CODES: tuple[DefectCode, ...] = (
    DefectCode.INSUFFICIENT_SOLDER,
    DefectCode.EXCESS_SOLDER,
    DefectCode.BRIDGE,
    DefectCode.SOLDER_BALL,
    DefectCode.COLD_JOINT,
    DefectCode.POOR_WETTING,
    DefectCode.LIFTED_LEAD,
    DefectCode.TOMBSTONE,
    DefectCode.MISSING_COMPONENT,
)
OTHER_CODES: tuple[DefectCode, ...] = tuple(
    c for c in DefectCode if c not in DIGIT_CODES
)

COLUMNS = 2

_LABELS = {
    DefectCode.BRIDGE: "Bridge / short",
    DefectCode.SOLDER_BALL: "Solder ball / splash",
    DefectCode.POOR_WETTING: "Poor wetting / non-wetting",
    DefectCode.PAD_DAMAGE: "Pad / board damage",
    DefectCode.VOID_PINHOLE: "Void / pinhole",
}


def code_label(code: DefectCode | str | None) -> str:
    """`Bridge / short` for `bridge`; '' for None."""
    if code is None or code == "":
        return ""
    code = DefectCode(code)
    return _LABELS.get(code, code.value.replace("_", " ").capitalize())


class DefectCodePicker(QWidget):
    """Nine numbered buttons plus a list of the other codes."""

    # A code was chosen: its value (e.g. "bridge").
    code_chosen = Signal(str)
    # The user backed out (Esc or Cancel).
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Defect code: press 1-9", self)
        title.setProperty("role", "subheading")
        grid = QGridLayout()
        grid.setSpacing(4)
        self.buttons: list[QPushButton] = []
        for i, code in enumerate(DIGIT_CODES):
            button = QPushButton(f"{i + 1}  {code_label(code)}", self)
            button.setObjectName(f"defectCode{i + 1}")
            button.setProperty("code", code.value)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setStyleSheet("text-align: left; padding: 4px 8px;")
            button.clicked.connect(self._on_code_button_clicked)
            grid.addWidget(button, i // COLUMNS, i % COLUMNS)
            self.buttons.append(button)
        self.more_combo = QComboBox(self)
        self.more_combo.setObjectName("moreDefectCodes")
        for code in OTHER_CODES:
            self.more_combo.addItem(code_label(code), code.value)
        self.more_combo.setMinimumContentsLength(12)
        self.more_button = QPushButton("Use", self)
        self.more_button.clicked.connect(self._on_more_button_clicked)
        self.cancel_button = QPushButton("Cancel (Esc)", self)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        more = QHBoxLayout()
        more.addWidget(QLabel("More:", self))
        more.addWidget(self.more_combo, 1)
        more.addWidget(self.more_button)
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addLayout(more)

    def pick_digit(self, digit: int) -> None:
        """Choose the code on key `digit` (1-9)."""
        if 1 <= digit <= len(DIGIT_CODES):
            self.code_chosen.emit(DIGIT_CODES[digit - 1].value)

    @Slot()
    def _on_code_button_clicked(self) -> None:
        button = self.sender()
        self.code_chosen.emit(str(button.property("code")))  # type: ignore[union-attr]

    @Slot()
    def _on_more_button_clicked(self) -> None:
        self.code_chosen.emit(str(self.more_combo.currentData()))

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancelled.emit()
