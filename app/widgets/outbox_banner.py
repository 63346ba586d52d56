"""`OutboxBanner`: the review screen's line about verdicts waiting for the database.

Shown while verdicts wait in the review outbox (the database became read-only, the disk
filled up, the server went away): what is wrong, how many verdicts wait, and a Retry
button. Hidden when nothing waits. The sentences for the verdict panel's status line
are built here too, so the review screen stays small.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.widgets.error_presenter import describe
from app.workers.errors import ErrorInfo
from db import VerdictKind


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def problem_sentence(state: Any) -> str:
    """The database's problem as one sentence (empty when none is known)."""
    if not state.problem_kind:
        return ""
    return describe(ErrorInfo(state.problem_kind, state.problem))


def _words(entry: Any, words: dict[Any, str]) -> str:
    verdict = entry.request.verdict
    try:
        return words.get(VerdictKind(verdict), str(verdict))
    except ValueError:
        return str(verdict)


def kept_message(entry: Any, error: Any, waiting: int, words: dict[Any, str]) -> str:
    """The verdict panel's line after a verdict went to the outbox (a
    `PendingVerdict`; `words` names the verdict kinds)."""
    label, verdict_words = entry.label, _words(entry, words)
    if error is not None:
        return (
            f"Not saved, the joint stays here: {describe(error)} Your verdict on "
            f"{label} ({verdict_words}) is kept and will be saved when the database "
            f"is writable again ({waiting} waiting)."
        )
    return (
        f"Kept, not saved yet: your verdict on {label} ({verdict_words}) waits behind "
        f"{_plural(waiting - 1, 'earlier verdict')}; they are saved in order when the "
        "database is writable again."
    )


def rejected_message(label: str, error: Any) -> str:
    """A waiting verdict the database refused for good on retry."""
    return f"Your waiting verdict on {label} was not saved: {describe(error)}"


def undone_message(entry: Any, words: dict[Any, str]) -> str:
    """Undo took back a waiting verdict (None: it was being written just then)."""
    if entry is None:
        return "That verdict is being saved this moment; undo again."
    return (
        f"Undone: your waiting verdict on {entry.label} ({_words(entry, words)}) was "
        "taken back; it had not been saved."
    )


class OutboxBanner(QFrame):
    """What waits for the database, and a Retry button (hidden when nothing waits)."""

    # The user asked to try the waiting verdicts now.
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outboxBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel("", self)
        self.label.setObjectName("outboxText")
        self.label.setWordWrap(True)
        self.label.setProperty("role", "error")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Retry now", self)
        self.retry_button.setObjectName("outboxRetryButton")
        self.retry_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.retry_button.clicked.connect(self.retry_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.label, 1)
        row.addWidget(self.retry_button)
        self.hide()

    def set_state(self, state: Any) -> None:
        """Show an `OutboxState` (hidden when nothing waits)."""
        if not state.waiting:
            self.label.clear()
            self.hide()
            return
        parts = [f"⚠ {_plural(state.waiting, 'verdict')} not saved yet, kept here."]
        problem = problem_sentence(state)
        if problem:
            parts.append(problem)
        parts.append(
            f"They are saved in order as soon as the database is writable again "
            f"(tried every {state.retry_seconds:g} s, or press Retry now)."
        )
        if state.file_problem:
            parts.append(f"Note: {state.file_problem}.")
        self.label.setText(" ".join(parts))
        self.show()
