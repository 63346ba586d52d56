"""Cooperative cancellation shared between the GUI thread and a worker (no Qt)."""

from __future__ import annotations

import threading

from inference.errors import Cancelled


class OperationCancelledError(Cancelled):
    """Raised inside a task by `CancelToken.raise_if_cancelled()`; not an error.

    A subclass of `inference.errors.Cancelled`, so the engine's own cancellation and
    the token's are one thing to `FunctionTask` and to the pipeline.
    """


class CancelToken:
    """A thread-safe flag the GUI thread sets and a worker checks between steps.

    The GUI calls `cancel()` directly (not through a queued signal, which would wait
    behind the busy job); the worker calls `raise_if_cancelled()` at its cancel points.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the task to stop at its next cancel point."""
        self._event.set()

    @property
    def is_cancelled(self) -> bool:
        """True once `cancel()` was called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise `OperationCancelledError` when cancellation was requested."""
        if self._event.is_set():
            msg = "cancelled"
            raise OperationCancelledError(msg)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` s, waking early on cancel; returns is_cancelled."""
        return self._event.wait(timeout)
