"""`ErrorInfo`: payload of every worker `failed` signal (no Qt, any thread)."""

from __future__ import annotations

import traceback as tb
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorInfo:
    """An exception caught at a thread boundary, reduced to plain strings.

    Attributes:
        kind: the exception's class name, e.g. `AuthenticationError`.
        message: `str(exc)`, the text meant for the user.
        traceback: the formatted traceback, for logs and the "details" of a dialog.
    """

    kind: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        """Build an `ErrorInfo` from a caught exception (keeps its traceback text)."""
        text = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
        return cls(kind=type(exc).__name__, message=str(exc), traceback=text)
