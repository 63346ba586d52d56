"""`KeyMapEditor`: the Settings table of review actions and their keys.

Each row is one action of `app.keymap.ACTIONS`: its name, its keys, and a key field
(`QKeySequenceEdit`, one key): click it and press the new key. A key another action
(or the window) already uses is refused, with a message naming that action; "Reset to
defaults" restores product.md §3. Changes are saved and reach the Review screen at
once (`KeyMap.changed`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.keymap import ACTIONS, KeyConflictError, display

if TYPE_CHECKING:
    from app.keymap import KeyMap

COL_ACTION, COL_KEYS, COL_NEW = range(3)
ROW_HEIGHT = 28


class KeyMapEditor(QWidget):
    """Shows and edits a `KeyMap` (the review keyboard map)."""

    def __init__(self, keymap: KeyMap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._keymap = keymap
        self.table = QTableWidget(len(ACTIONS), 3, self)
        self.table.setObjectName("keymapTable")
        self.table.setHorizontalHeaderLabels(["Action", "Keys", "New key (press it)"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_ACTION, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_KEYS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_NEW, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_NEW, 170)
        self.edits: dict[str, QKeySequenceEdit] = {}
        for row, action in enumerate(ACTIONS):
            self.table.setItem(row, COL_ACTION, QTableWidgetItem(action.label))
            self.table.setItem(row, COL_KEYS, QTableWidgetItem(""))
            edit = QKeySequenceEdit(self.table)
            edit.setObjectName(f"keyEdit_{action.name}")
            edit.setMaximumSequenceLength(1)
            edit.setProperty("action", action.name)
            edit.setToolTip(f"Click, then press the new key for “{action.label}”")
            edit.editingFinished.connect(self._on_edit_editing_finished)
            self.table.setCellWidget(row, COL_NEW, edit)
            self.edits[action.name] = edit
        self.table.setMinimumHeight(ROW_HEIGHT * 8)

        self.message = QLabel("", self)
        self.message.setObjectName("keymapMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")
        self.reset_button = QPushButton("Reset to defaults", self)
        self.reset_button.setObjectName("keymapResetButton")
        self.reset_button.clicked.connect(self._on_reset_button_clicked)
        row_layout = QHBoxLayout()
        row_layout.addWidget(self.message, 1)
        row_layout.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(row_layout)

        keymap.changed.connect(self._on_keymap_changed)
        self._show_keys()

    def row_of(self, name: str) -> int:
        """The table row of action `name`."""
        return next(i for i, a in enumerate(ACTIONS) if a.name == name)

    def keys_text(self, name: str) -> str:
        """What the Keys column shows for action `name`."""
        item = self.table.item(self.row_of(name), COL_KEYS)
        return item.text() if item is not None else ""

    def _show_keys(self) -> None:
        for row, action in enumerate(ACTIONS):
            keys = self._keymap.keys(action.name)
            item = self.table.item(row, COL_KEYS)
            if item is not None:
                changed = "" if self._keymap.is_default(action.name) else "  (changed)"
                item.setText(display(keys) + changed)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setProperty("role", "error" if error else "muted")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(f"⚠ {text}" if error else text)

    # -- slots -----------------------------------------------------------------------
    @Slot()
    def _on_edit_editing_finished(self) -> None:
        edit = self.sender()
        if not isinstance(edit, QKeySequenceEdit):
            return
        name = str(edit.property("action"))
        sequence = edit.keySequence()
        if sequence.isEmpty():
            return
        label = next(a.label for a in ACTIONS if a.name == name)
        try:
            key = self._keymap.set_key(name, sequence)
        except KeyConflictError as exc:
            self._say(f"Not changed: {exc}.", error=True)
        else:
            shown = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
            self._say(f"“{label}” is now {shown}; the Review screen uses it at once.")
        edit.blockSignals(True)
        edit.clear()
        edit.blockSignals(False)
        edit.clearFocus()

    @Slot()
    def _on_reset_button_clicked(self) -> None:
        self._keymap.reset()
        self._say("Every review key is back to its default.")

    @Slot()
    def _on_keymap_changed(self) -> None:
        self._show_keys()
