"""`AddUserDialog`: name, role and PIN of a new user (admins only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.controllers.users_controller import NewUserRequest
from app.widgets.login_dialog import make_pin_edit, pin_problem

if TYPE_CHECKING:
    from collections.abc import Sequence


class AddUserDialog(QDialog):
    """Modal form; use `AddUserDialog.ask(parent, roles)` (tests replace `ask`)."""

    def __init__(self, roles: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add user")
        self.setMinimumWidth(360)
        self.name_edit = QLineEdit(self)
        self.role_combo = QComboBox(self)
        for role in roles:
            self.role_combo.addItem(role.capitalize(), role)
        self.pin_edit = make_pin_edit(self)
        self.repeat_edit = make_pin_edit(self)
        self.error_label = QLabel("", self)
        self.error_label.setProperty("role", "error")
        self.error_label.hide()
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Role", self.role_combo)
        form.addRow("PIN", self.pin_edit)
        form.addRow("Repeat PIN", self.repeat_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add user")
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def request(self) -> NewUserRequest:
        """The form's content."""
        return NewUserRequest(
            name=self.name_edit.text().strip(),
            role=str(self.role_combo.currentData()),
            pin=self.pin_edit.text(),
        )

    @Slot()
    def _on_buttons_accepted(self) -> None:
        req = self.request()
        problem = (
            "Enter a name."
            if not req.name
            else pin_problem(req.pin, self.repeat_edit.text())
        )
        if problem:
            self.error_label.setText(problem)
            self.error_label.show()
            return
        self.accept()

    @classmethod
    def ask(cls, parent: QWidget | None, roles: Sequence[str]) -> NewUserRequest | None:
        """Show the dialog modally; the request, or None when cancelled."""
        dialog = cls(roles, parent)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.request()
        return None
