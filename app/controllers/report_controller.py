"""`ReportController`: shift figures for the Reports tab (off the GUI thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

if TYPE_CHECKING:
    from app.workers.task import TaskRunner

# Roles that may see shift reports (db.reports refuses inspectors).
REPORT_ROLES = frozenset({"supervisor", "engineer", "admin"})


def _shift_report(db: Any, actor: Any, shift_id: int | None) -> Any:
    return db.reports.shift_report(actor=actor, shift_id=shift_id)


class ReportController(QObject):
    """Fetches `ShiftReport` DTOs."""

    # A report arrived: the ShiftReport DTO.
    report_ready = Signal(object)
    # Fetching failed: an ErrorInfo.
    failed = Signal(object)
    # A fetch started (True) or ended (False).
    busy_changed = Signal(bool)

    def __init__(
        self, database: Any, runner: TaskRunner, parent: QObject | None = None
    ):
        super().__init__(parent)
        self._db = database
        self._runner = runner

    @staticmethod
    def may_view(role: str) -> bool:
        """Whether `role` may see shift reports."""
        return str(role) in REPORT_ROLES

    def fetch_shift_report(self, actor: Any, shift_id: int | None) -> None:
        """Fetch the report of `shift_id` as `actor`; answers on `report_ready`."""
        task = self._runner.submit(_shift_report, self._db, actor, shift_id)
        task.signals.result.connect(self._on_report_result)
        task.signals.failed.connect(self._on_task_failed)
        task.signals.finished.connect(self._on_task_finished)
        self.busy_changed.emit(True)
        self._runner.start(task)

    @Slot(object)
    def _on_report_result(self, report: object) -> None:
        self.report_ready.emit(report)

    @Slot(object)
    def _on_task_failed(self, error: object) -> None:
        self.failed.emit(error)

    @Slot()
    def _on_task_finished(self) -> None:
        self.busy_changed.emit(False)
