"""`LoginDialog`: first-run administrator creation and name + PIN login.

The dialog validates input and emits requests; it never touches the database. The shell
controller answers by switching pages, showing an error, or hiding the dialog.
"""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

PIN_MIN, PIN_MAX = 4, 12


def pin_problem(pin: str, repeat: str | None = None) -> str:
    """Why `pin` is unacceptable ('' if fine); `repeat` must match when given."""
    if not (pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        return f"The PIN must be {PIN_MIN} to {PIN_MAX} digits."
    if repeat is not None and repeat != pin:
        return "The two PINs differ."
    return ""


def make_pin_edit(parent: QWidget | None = None) -> QLineEdit:
    """A masked line edit that accepts up to 12 digits."""
    edit = QLineEdit(parent)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setValidator(
        QRegularExpressionValidator(QRegularExpression(r"\d{0,12}"), edit)
    )
    edit.setPlaceholderText(f"{PIN_MIN}-{PIN_MAX} digits")
    return edit


def _label(text: str, role: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setProperty("role", role)
    label.setWordWrap(True)
    return label


class LoginDialog(QDialog):
    """Station start dialog with three pages: checking, create administrator, log in."""

    # The operator asked to create the first administrator: (name, pin).
    admin_requested = Signal(str, str)
    # The operator asked to log in: (name, pin).
    login_requested = Signal(str, str)

    PAGE_CHECKING, PAGE_CREATE_ADMIN, PAGE_LOGIN = range(3)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("loginDialog")
        self.setWindowTitle("SolderNet Review: log in")
        self.setMinimumWidth(440)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._build_checking_page())
        self.stack.addWidget(self._build_create_admin_page())
        self.stack.addWidget(self._build_login_page())

        self.error_label = _label("", "error", self)
        self.error_label.setObjectName("loginError")
        self.error_label.hide()

        self.quit_button = QPushButton("Quit", self)
        self.quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.quit_button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(10)
        layout.addWidget(_label("SolderNet Review", "heading", self))
        layout.addWidget(
            _label("Explainable solder-joint inspection station", "muted", self)
        )
        layout.addSpacing(8)
        layout.addWidget(self.stack)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.show_checking()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape does not quit the station; only the Quit button does."""
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            return
        super().keyPressEvent(event)

    # -- pages ---------------------------------------------------------------------
    def _build_checking_page(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        self.checking_label = _label("Opening the station database…", "muted", page)
        box.addWidget(self.checking_label)
        box.addStretch(1)
        return page

    def _build_create_admin_page(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(_label("Create the first administrator", "subheading", page))
        box.addWidget(
            _label(
                "This station has no users yet. The first account administers the "
                "station and adds inspectors, technicians, supervisors and engineers "
                "from Settings.",
                "muted",
                page,
            )
        )
        form = QFormLayout()
        self.admin_name_edit = QLineEdit(page)
        self.admin_name_edit.setObjectName("adminName")
        self.admin_name_edit.setPlaceholderText("e.g. Station admin")
        self.admin_pin_edit = make_pin_edit(page)
        self.admin_pin_edit.setObjectName("adminPin")
        self.admin_repeat_edit = make_pin_edit(page)
        self.admin_repeat_edit.setObjectName("adminPinRepeat")
        form.addRow("Name", self.admin_name_edit)
        form.addRow("PIN", self.admin_pin_edit)
        form.addRow("Repeat PIN", self.admin_repeat_edit)
        box.addLayout(form)
        self.create_admin_button = QPushButton("Create administrator", page)
        self.create_admin_button.setObjectName("createAdminButton")
        self.create_admin_button.setProperty("role", "primary")
        self.create_admin_button.clicked.connect(self._on_create_admin_button_clicked)
        self.admin_repeat_edit.returnPressed.connect(
            self._on_create_admin_button_clicked
        )
        box.addWidget(self.create_admin_button, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _build_login_page(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(_label("Log in to start your shift", "subheading", page))
        self.login_note_label = _label("", "muted", page)
        self.login_note_label.hide()
        box.addWidget(self.login_note_label)
        form = QFormLayout()
        self.name_edit = QLineEdit(page)
        self.name_edit.setObjectName("loginName")
        self.pin_edit = make_pin_edit(page)
        self.pin_edit.setObjectName("loginPin")
        form.addRow("Name", self.name_edit)
        form.addRow("PIN", self.pin_edit)
        box.addLayout(form)
        self.login_button = QPushButton("Log in", page)
        self.login_button.setObjectName("loginButton")
        self.login_button.setProperty("role", "primary")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self._on_login_button_clicked)
        self.pin_edit.returnPressed.connect(self._on_login_button_clicked)
        box.addWidget(self.login_button, 0, Qt.AlignmentFlag.AlignRight)
        return page

    # -- what the shell controller calls -------------------------------------------
    def show_checking(self, text: str = "Opening the station database…") -> None:
        """Show the waiting page."""
        self.checking_label.setText(text)
        self.stack.setCurrentIndex(self.PAGE_CHECKING)
        self.clear_error()

    def show_create_admin(self) -> None:
        """Show the first-run page."""
        self.stack.setCurrentIndex(self.PAGE_CREATE_ADMIN)
        self.set_busy(False)
        self.admin_name_edit.setFocus()

    def show_login(self, name: str = "", note: str = "") -> None:
        """Show the login page, optionally with a name filled in and a note above."""
        self.stack.setCurrentIndex(self.PAGE_LOGIN)
        self.set_busy(False)
        self.name_edit.setText(name)
        self.pin_edit.clear()
        self.login_note_label.setText(note)
        self.login_note_label.setVisible(bool(note))
        (self.pin_edit if name else self.name_edit).setFocus()

    def show_error(self, text: str) -> None:
        """Show `text` under the form and let the operator try again."""
        self.set_busy(False)
        self.error_label.setText(text)
        self.error_label.show()
        if self.stack.currentIndex() == self.PAGE_LOGIN:
            self.pin_edit.clear()
            self.pin_edit.setFocus()

    def clear_error(self) -> None:
        """Hide the error line."""
        self.error_label.clear()
        self.error_label.hide()

    def set_busy(self, busy: bool) -> None:
        """Disable the inputs while a request runs in the background."""
        self.stack.setEnabled(not busy)

    # -- slots ---------------------------------------------------------------------
    @Slot()
    def _on_create_admin_button_clicked(self) -> None:
        name = self.admin_name_edit.text().strip()
        pin = self.admin_pin_edit.text()
        problem = (
            "Enter a name."
            if not name
            else pin_problem(pin, self.admin_repeat_edit.text())
        )
        if problem:
            self.show_error(problem)
            return
        self.clear_error()
        self.set_busy(True)
        self.admin_requested.emit(name, pin)

    @Slot()
    def _on_login_button_clicked(self) -> None:
        name = self.name_edit.text().strip()
        pin = self.pin_edit.text()
        if not name or not pin:
            self.show_error("Enter your name and PIN.")
            return
        self.clear_error()
        self.set_busy(True)
        self.login_requested.emit(name, pin)
