"""`VerdictPanel`: verdict buttons, the review keyboard map, IPC-A-610 fields, note.

Keyboard map (product.md §3): `D` defect confirmed (then 1-9 pick the code), `F` false
call, `S` skip/escalate, `Ctrl+Z` undo, `Space` overlay, `+`/`-`/`0` zoom, arrows
previous/next. The actions are installed on the screen (`install_shortcuts`) so they
work wherever the focus is on it, except in text fields.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.widgets.defect_code_picker import DefectCodePicker
from db import IpcClass, IpcCondition, VerdictKind

IPC_CONDITIONS = (
    ("Not recorded", None),
    ("Target", IpcCondition.TARGET),
    ("Acceptable", IpcCondition.ACCEPTABLE),
    ("Process indicator (SPC, no rework)", IpcCondition.PROCESS_INDICATOR),
    ("Defect", IpcCondition.DEFECT),
)
IPC_CLASSES = (
    ("Class 1 - general", IpcClass.GENERAL),
    ("Class 2 - dedicated service", IpcClass.DEDICATED_SERVICE),
    ("Class 3 - high performance", IpcClass.HIGH_PERFORMANCE),
)


class VerdictPanel(QWidget):
    """Buttons and shortcuts for verdicts; the screen turns signals into requests."""

    PAGE_VERDICTS, PAGE_CODES = range(2)

    # A verdict was chosen: (VerdictKind value, defect code value or "").
    verdict_chosen = Signal(str, str)
    # Ctrl+Z.
    undo_requested = Signal()
    # Space.
    overlay_toggle_requested = Signal()
    # + / - / 0: "in", "out" or "fit".
    zoom_requested = Signal(str)
    # Arrows: -1 previous, +1 next.
    step_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._available = False
        self._saving = False

        self.defect_button = self._button("Defect (D)", "defectButton")
        self.false_call_button = self._button("False call (F)", "falseCallButton")
        self.skip_button = self._button("Skip / escalate (S)", "skipButton")
        self.undo_button = self._button("Undo (Ctrl+Z)", "undoButton")
        self.defect_button.setProperty("role", "primary")
        self.defect_button.clicked.connect(self._on_defect_action_triggered)
        self.false_call_button.clicked.connect(self._on_false_call_action_triggered)
        self.skip_button.clicked.connect(self._on_skip_action_triggered)
        self.undo_button.clicked.connect(self._on_undo_action_triggered)
        buttons = QWidget(self)
        grid = QGridLayout(buttons)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.defect_button, 0, 0)
        grid.addWidget(self.false_call_button, 0, 1)
        grid.addWidget(self.skip_button, 1, 0)
        grid.addWidget(self.undo_button, 1, 1)

        self.picker = DefectCodePicker(self)
        self.picker.code_chosen.connect(self._on_picker_code_chosen)
        self.picker.cancelled.connect(self._on_picker_cancelled)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(buttons)
        self.stack.addWidget(self.picker)

        self.condition_combo = QComboBox(self)
        self.condition_combo.setObjectName("ipcCondition")
        for text, value in IPC_CONDITIONS:
            self.condition_combo.addItem(text, value.value if value else None)
        self.class_combo = QComboBox(self)
        self.class_combo.setObjectName("ipcClass")
        for text, value in IPC_CLASSES:
            self.class_combo.addItem(text, int(value))
        self.class_combo.setCurrentIndex(1)
        self.note_edit = QLineEdit(self)
        self.note_edit.setObjectName("verdictNote")
        self.note_edit.setPlaceholderText("Note for the technician (optional)")
        self.note_edit.setClearButtonEnabled(True)
        for w in (self.condition_combo, self.class_combo):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("IPC-A-610 condition", self.condition_combo)
        form.addRow("Product class", self.class_combo)
        form.addRow("Note", self.note_edit)

        self.status_label = QLabel("", self)
        self.status_label.setObjectName("verdictStatus")
        self.status_label.setWordWrap(True)
        self.status_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        layout.addLayout(form)
        layout.addWidget(self.status_label)

        self._build_actions()
        self._update_enabled()

    def _button(self, text: str, name: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumHeight(34)
        # The 2x2 verdict buttons fill the height the code picker page needs.
        button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        return button

    def _action(self, text: str, keys: tuple[str, ...], slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.defect_action = self._action(
            "Defect", ("D",), self._on_defect_action_triggered
        )
        self.false_call_action = self._action(
            "False call", ("F",), self._on_false_call_action_triggered
        )
        self.skip_action = self._action("Skip", ("S",), self._on_skip_action_triggered)
        self.undo_action = self._action(
            "Undo", ("Ctrl+Z",), self._on_undo_action_triggered
        )
        self.overlay_action = self._action(
            "Overlay", ("Space",), self._on_overlay_action_triggered
        )
        self.zoom_in_action = self._action(
            "Zoom in", ("+", "=", "Shift++"), self._on_zoom_in_action_triggered
        )
        self.zoom_out_action = self._action(
            "Zoom out", ("-",), self._on_zoom_out_action_triggered
        )
        self.fit_action = self._action("Fit", ("0",), self._on_fit_action_triggered)
        self.previous_action = self._action(
            "Previous", ("Left", "Up"), self._on_previous_action_triggered
        )
        self.next_action = self._action(
            "Next", ("Right", "Down"), self._on_next_action_triggered
        )
        self.cancel_action = self._action("Cancel", ("Esc",), self._on_picker_cancelled)
        self.digit_actions: list[QAction] = []
        for digit in range(1, 10):
            action = self._action(
                f"Code {digit}", (str(digit),), self._on_digit_action_triggered
            )
            action.setData(digit)
            self.digit_actions.append(action)

    def shortcut_actions(self) -> list[QAction]:
        """Every keyboard action (for `install_shortcuts`)."""
        return [
            self.defect_action,
            self.false_call_action,
            self.skip_action,
            self.undo_action,
            self.overlay_action,
            self.zoom_in_action,
            self.zoom_out_action,
            self.fit_action,
            self.previous_action,
            self.next_action,
            self.cancel_action,
            *self.digit_actions,
        ]

    def install_shortcuts(self, host: QWidget) -> None:
        """Make the keyboard map work anywhere inside `host`."""
        host.addActions(self.shortcut_actions())

    # -- state -----------------------------------------------------------------------
    @property
    def picking_code(self) -> bool:
        return self.stack.currentIndex() == self.PAGE_CODES

    def set_joint_available(self, available: bool) -> None:
        """Whether a joint is shown (verdicts make sense)."""
        self._available = available
        if not available:
            self.stack.setCurrentIndex(self.PAGE_VERDICTS)
        self._update_enabled()

    def set_saving(self, saving: bool) -> None:
        """While a verdict is written no other verdict can be given."""
        self._saving = saving
        if saving:
            self.show_status("Saving…")
        elif self.status_label.text() == "Saving…":
            self.show_status("")
        self._update_enabled()

    def show_status(self, text: str, *, error: bool = False) -> None:
        """A line under the panel (saving, saved, or an error in the error colour)."""
        self.status_label.setProperty("role", "error" if error else "muted")
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(f"⚠ {text}" if error and text else text)
        self.status_label.setVisible(bool(text))

    def _update_enabled(self) -> None:
        can_give = self._available and not self._saving
        for w in (
            self.defect_button,
            self.false_call_button,
            self.skip_button,
            self.defect_action,
            self.false_call_action,
            self.skip_action,
        ):
            w.setEnabled(can_give)
        self.picker.setEnabled(can_give)
        for action in self.digit_actions:
            action.setEnabled(can_give and self.picking_code)
        self.cancel_action.setEnabled(self.picking_code)
        self.undo_button.setEnabled(not self._saving)
        self.undo_action.setEnabled(not self._saving)

    def ipc_condition(self) -> str | None:
        data = self.condition_combo.currentData()
        return str(data) if data else None

    def ipc_class(self) -> int:
        return int(self.class_combo.currentData())

    def note(self) -> str:
        return self.note_edit.text().strip()

    def clear_entry(self) -> None:
        """After a saved verdict: empty the note and the condition (class is kept)."""
        self.note_edit.clear()
        self.condition_combo.setCurrentIndex(0)

    def _show_page(self, page: int) -> None:
        self.stack.setCurrentIndex(page)
        self._update_enabled()

    # -- slots -----------------------------------------------------------------------
    @Slot()
    def _on_defect_action_triggered(self) -> None:
        if self._available and not self._saving:
            self._show_page(self.PAGE_CODES)

    @Slot()
    def _on_false_call_action_triggered(self) -> None:
        if self._available and not self._saving:
            self._show_page(self.PAGE_VERDICTS)
            self.verdict_chosen.emit(VerdictKind.FALSE_CALL.value, "")

    @Slot()
    def _on_skip_action_triggered(self) -> None:
        if self._available and not self._saving:
            self._show_page(self.PAGE_VERDICTS)
            self.verdict_chosen.emit(VerdictKind.SKIPPED.value, "")

    @Slot()
    def _on_undo_action_triggered(self) -> None:
        self._show_page(self.PAGE_VERDICTS)
        self.undo_requested.emit()

    @Slot()
    def _on_digit_action_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and self.picking_code:
            self.picker.pick_digit(int(action.data()))

    @Slot(str)
    def _on_picker_code_chosen(self, code: str) -> None:
        self._show_page(self.PAGE_VERDICTS)
        if self._available and not self._saving:
            self.verdict_chosen.emit(VerdictKind.CONFIRMED_DEFECT.value, code)

    @Slot()
    def _on_picker_cancelled(self) -> None:
        self._show_page(self.PAGE_VERDICTS)

    @Slot()
    def _on_overlay_action_triggered(self) -> None:
        self.overlay_toggle_requested.emit()

    @Slot()
    def _on_zoom_in_action_triggered(self) -> None:
        self.zoom_requested.emit("in")

    @Slot()
    def _on_zoom_out_action_triggered(self) -> None:
        self.zoom_requested.emit("out")

    @Slot()
    def _on_fit_action_triggered(self) -> None:
        self.zoom_requested.emit("fit")

    @Slot()
    def _on_previous_action_triggered(self) -> None:
        self.step_requested.emit(-1)

    @Slot()
    def _on_next_action_triggered(self) -> None:
        self.step_requested.emit(1)
