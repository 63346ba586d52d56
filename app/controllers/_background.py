"""Base of the controllers whose database work runs as tasks on the app's pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Slot

if TYPE_CHECKING:
    from app.workers.task import TaskRunner


class BackgroundController(QObject):
    """Runs functions on the `TaskRunner` and counts the tasks in flight.

    Subclasses declare the signals ``failed = Signal(object)`` (an ErrorInfo) and
    ``busy_changed = Signal(bool)`` (True when the first task starts, False when the
    last one ends); results reach the slot given to `_run`, on the GUI thread.
    """

    def __init__(
        self, database: Any, runner: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._db = database
        self._runner = runner
        self._busy = 0

    @property
    def busy(self) -> bool:
        """Whether a task of this controller is running."""
        return self._busy > 0

    def _run(self, fn: Callable[..., Any], on_result: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the pool; its result goes to `on_result`."""
        task = self._runner.submit(fn, *args)
        task.signals.result.connect(on_result)
        self._start(task)

    def _start(self, task: Any) -> None:
        task.signals.failed.connect(self._on_task_failed)
        task.signals.finished.connect(self._on_task_finished)
        self._busy += 1
        if self._busy == 1:
            self.busy_changed.emit(True)  # type: ignore[attr-defined]
        self._runner.start(task)

    @Slot(object)
    def _on_task_failed(self, error: object) -> None:
        self.failed.emit(error)  # type: ignore[attr-defined]

    @Slot()
    def _on_task_finished(self) -> None:
        self._busy = max(0, self._busy - 1)
        if self._busy == 0:
            self.busy_changed.emit(False)  # type: ignore[attr-defined]
