"""The one place that turns an `ErrorInfo` into status-bar text or a message box."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from app.workers.errors import ErrorInfo
from db import errors as db_errors

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStatusBar

log = logging.getLogger(__name__)

STATUS_TIMEOUT_MS = 10_000

# Error kinds whose message is replaced by a plainer sentence for the operator.
FRIENDLY_MESSAGES: dict[str, str] = {
    "PermissionDeniedError": "Your role is not allowed to do this.",
}

# Error kinds whose message is written for the user (every db error says what is wrong
# and names the file), so no traceback is offered with them.
EXPECTED_KINDS = frozenset(db_errors.__all__) | {
    "SettingsError",
    "StartupError",
    "ValueError",
    "PermissionError",
    "FileNotFoundError",
    "OSError",
}


# What the status bar says about a database that refused a write, by error kind.
DATABASE_STATE_WORDS: dict[str, str] = {
    "DatabaseReadOnlyError": "read-only",
    "DatabaseFullError": "disk full",
    "DatabaseUnavailableError": "unreachable",
    "DatabaseLockedError": "locked",
    "DatabaseLocationError": "cannot be opened",
}


def database_state_word(kind: str) -> str:
    """`read-only`, `disk full`, ... for an error kind ("" when it is none of them)."""
    return DATABASE_STATE_WORDS.get(kind, "")


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def describe(error: ErrorInfo) -> str:
    """One sentence for the user: friendly text, the message, or kind plus message."""
    if error.kind in EXPECTED_KINDS and error.message:
        return _sentence(error.message)
    if error.kind in FRIENDLY_MESSAGES:
        return FRIENDLY_MESSAGES[error.kind]
    if error.message:
        return f"Unexpected error ({error.kind}): {error.message}"
    return f"Unexpected error ({error.kind})."


class ErrorDialog:
    """Modal error box behind one classmethod, which tests replace with monkeypatch."""

    @classmethod
    def show_error(
        cls, parent: QWidget | None, title: str, text: str, details: str = ""
    ) -> None:
        """Show a modal error message (blocks until the user closes it)."""
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(title)
        box.setText(text)
        if details:
            box.setDetailedText(details)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.exec()


class ErrorPresenter(QObject):
    """Shows worker and startup errors: briefly in the status bar, or as one dialog.

    Controllers connect their `failed(ErrorInfo)` signals to `show_in_status`
    (recoverable problems) or `show_dialog` (the user must act). Nothing else
    builds error UI.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status_bar: QStatusBar | None = None
        self._dialog_parent: QWidget | None = None
        self.last_error: ErrorInfo | None = None

    def attach(
        self, status_bar: QStatusBar | None, dialog_parent: QWidget | None
    ) -> None:
        """Where to write status text and what to parent dialogs on."""
        self._status_bar = status_bar
        self._dialog_parent = dialog_parent

    @Slot(object)
    def show_in_status(self, error: ErrorInfo) -> None:
        """Write the error into the status bar for a few seconds (or log it)."""
        self.last_error = error
        text = describe(error)
        log.warning("%s: %s", error.kind, error.message)
        if self._status_bar is not None:
            self._status_bar.showMessage(f"⚠ {text}", STATUS_TIMEOUT_MS)

    @Slot(object)
    def show_dialog(self, error: ErrorInfo, title: str = "SolderNet Review") -> None:
        """Show the error in a modal box; the traceback goes into its details."""
        self.last_error = error
        log.error("%s: %s", error.kind, error.message)
        details = error.traceback if error.kind not in EXPECTED_KINDS else ""
        ErrorDialog.show_error(self._dialog_parent, title, describe(error), details)
