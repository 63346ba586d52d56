"""`FunctionTask`: run one callable on a `QThreadPool`; `TaskRunner` keeps it alive.

A `FunctionTask` wraps `fn(*args, **kwargs)`. When `fn` declares a keyword parameter
named `on_progress` it receives a Qt-free callable `on_progress(done, total)`; when it
declares `cancel` it receives the task's `CancelToken`. Both are the cancel points of
a cooperative task (the labelme/superqt shape): the domain code never sees Qt.

Every exception is caught at the thread boundary, logged with its traceback and sent on
`failed` as an `ErrorInfo`; `inference.errors.Cancelled` (which the token raises)
is sent on `cancelled`; `finished` is always emitted last.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from app.workers.cancel import CancelToken
from app.workers.errors import ErrorInfo
from app.workers.signals import WorkerSignals
from inference.errors import Cancelled

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params


class FunctionTask(QRunnable):
    """A one-off job for a `QThreadPool`, with its own signals and cancel token."""

    def __init__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        # The pool must not delete the C++ object under Python: `TaskRunner` owns it.
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.cancel_token = CancelToken()
        self._fn = fn
        self._args = args
        self._kwargs = dict(kwargs)
        self.name = getattr(fn, "__qualname__", repr(fn))
        if _accepts(fn, "on_progress"):
            self._kwargs.setdefault("on_progress", self._emit_progress)
        if _accepts(fn, "cancel"):
            self._kwargs.setdefault("cancel", self.cancel_token)

    def cancel(self) -> None:
        """Ask the job to stop at its next cancel point (safe from any thread)."""
        self.cancel_token.cancel()

    def _emit_progress(self, done: int, total: int) -> None:
        self.signals.progress.emit(int(done), int(total))
        self.cancel_token.raise_if_cancelled()

    def run(self) -> None:
        """Run `fn` on the pool thread; never lets an exception escape."""
        signals = self.signals
        try:
            signals.started.emit()
            self.cancel_token.raise_if_cancelled()
            value = self._fn(*self._args, **self._kwargs)
            self.cancel_token.raise_if_cancelled()
        except Cancelled:
            log.info("task %s cancelled", self.name)
            signals.cancelled.emit()
        except Exception as exc:
            log.warning("task %s failed", self.name, exc_info=True)
            signals.failed.emit(ErrorInfo.from_exception(exc))
        else:
            signals.result.emit(value)
        finally:
            signals.finished.emit()


class TaskRunner(QObject):
    """Starts `FunctionTask`s on a pool and holds a reference to each until `finished`.

    Created once by the composition root and handed to the controllers (no global).
    """

    # The number of running tasks changed (0 means idle).
    busy_changed = Signal(int)

    def __init__(
        self, pool: QThreadPool | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._pool = pool if pool is not None else QThreadPool.globalInstance()
        self._active: dict[WorkerSignals, FunctionTask] = {}
        self._done: list[FunctionTask] = []

    @property
    def active_count(self) -> int:
        """Tasks started and not yet finished."""
        return len(self._active)

    def start(self, task: FunctionTask) -> FunctionTask:
        """Queue `task` on the pool; connect its signals before calling this."""
        self._active[task.signals] = task
        # Connected last, so the caller's `finished` slots run before the release.
        task.signals.finished.connect(self._on_task_finished)
        self._pool.start(task)
        self.busy_changed.emit(len(self._active))
        return task

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> FunctionTask:
        """Build a task; the caller connects its signals, then calls `start(task)`."""
        return FunctionTask(fn, *args, **kwargs)

    def cancel_all(self) -> None:
        """Ask every running task to stop at its next cancel point."""
        for task in self._active.values():
            task.cancel()

    def wait_for_done(self, msecs: int = 5000) -> bool:
        """Cancel all tasks and wait up to `msecs` for the pool (shutdown only)."""
        self.cancel_all()
        return self._pool.waitForDone(msecs)

    @Slot()
    def _on_task_finished(self) -> None:
        signals = self.sender()
        task = self._active.pop(signals, None)  # type: ignore[call-overload]
        if task is None:
            return
        # Release on the next event-loop turn, not inside the task's own emission.
        self._done.append(task)
        QTimer.singleShot(0, self._release_done)
        self.busy_changed.emit(len(self._active))

    @Slot()
    def _release_done(self) -> None:
        self._done.clear()
