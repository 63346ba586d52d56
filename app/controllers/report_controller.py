"""`ReportController`: shift figures, charts and exports for the Reports tab.

Every database call, chart rendering and file export runs on the task pool; the
controller relays the results as DTOs and QImages (never QPixmaps) to the screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from app.controllers._background import BackgroundController

if TYPE_CHECKING:
    from datetime import datetime

    from app.workers.task import TaskRunner

log = logging.getLogger(__name__)

# Roles that may see shift reports (db.reports refuses inspectors).
REPORT_ROLES = frozenset({"supervisor", "engineer", "admin"})
EXPORT_FORMATS = (".csv", ".xlsx", ".pdf")
CHART_DPI = 100
CHART_SIZE = (4.4, 3.8)
DRIFT_WINDOWS = 14  # windows on the drift charts (14 shifts: almost five days)


@dataclass(frozen=True)
class ReportView:
    """A report with its charts drawn: what the dashboard shows."""

    report: Any  # db.dto.ShiftReport
    charts: dict[str, QImage] = field(default_factory=dict)


def _shift_report(db: Any, actor: Any, shift_id: int | None) -> Any:
    return db.reports.shift_report(actor=actor, shift_id=shift_id)


def _report_view(
    db: Any,
    actor: Any,
    shift_id: int | None,
    start: datetime | None,
    end: datetime | None,
    theme: str = "light",
) -> ReportView:
    """Fetch the report and render its charts (runs on a pool thread)."""
    from app.reports.charts import chart_pngs

    report = db.reports.shift_report(
        actor=actor, shift_id=shift_id, start=start, end=end
    )
    images: dict[str, QImage] = {}
    for name, png in chart_pngs(
        report, size=CHART_SIZE, dpi=CHART_DPI, theme=theme
    ).items():
        image = QImage.fromData(png, "PNG")
        images[name] = image.copy()
    return ReportView(report, images)


def _export(db: Any, actor: Any, report: Any, path: Path, station: str) -> Path:
    """Write the report by extension and audit the export (runs on a pool thread)."""
    from app.reports import write_report
    from app.reports.pdf import write_pdf

    suffix = path.suffix.lower()
    if suffix == ".pdf":
        write_pdf(report, path, station=station)
    else:
        write_report(report, path)
    db.audit.log(
        actor,
        "report_exported",
        "shift",
        report.shift_id,
        {"file": str(path), "format": suffix.lstrip(".")},
    )
    log.info("report exported to %s", path)
    return path


@dataclass(frozen=True)
class DriftView:
    """A drift report with its control charts drawn: what the Drift tab shows."""

    report: Any  # db.services.drift.DriftReport
    chart: QImage | None = None


def _drift_view(db: Any, windows: str, theme: str) -> DriftView:
    """Chart the active model's recent windows (runs on a pool thread)."""
    from app.widgets.drift_panel import drift_chart_png

    report = db.drift.report(windows=windows, count=DRIFT_WINDOWS)
    image = QImage.fromData(drift_chart_png(report, theme=theme), "PNG").copy()
    return DriftView(report, image)


def _list_shifts(db: Any) -> list[Any]:
    return list(db.shifts.list_shifts())


class ReportController(BackgroundController):
    """Fetches `ShiftReport` DTOs (with charts), lists shifts and exports reports."""

    # A report arrived: the ShiftReport DTO.
    report_ready = Signal(object)
    # A report with its chart images arrived: a ReportView.
    view_ready = Signal(object)
    # The drift charts of the active model arrived: a DriftView.
    drift_ready = Signal(object)
    # The shifts for the period picker arrived: list[ShiftDTO], newest first.
    shifts_ready = Signal(object)
    # An export finished: the path written (str).
    exported = Signal(str)
    # Fetching or exporting failed: an ErrorInfo.
    failed = Signal(object)
    # A fetch or export started (True) or ended (False).
    busy_changed = Signal(bool)

    def __init__(
        self,
        database: Any,
        runner: TaskRunner,
        parent: QObject | None = None,
        *,
        station: str = "",
    ):
        super().__init__(database, runner, parent)
        self.station = station or str(getattr(database, "where", ""))

    @staticmethod
    def may_view(role: str) -> bool:
        """Whether `role` may see shift reports."""
        return str(role) in REPORT_ROLES

    def fetch_shift_report(self, actor: Any, shift_id: int | None) -> None:
        """Fetch the report of `shift_id` as `actor`; answers on `report_ready`."""
        task = self._runner.submit(_shift_report, self._db, actor, shift_id)
        task.signals.result.connect(self._on_report_result)
        self._start(task)

    def fetch_view(
        self,
        actor: Any,
        *,
        shift_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        theme: str = "light",
    ) -> None:
        """Fetch a shift's or a period's report and draw its charts for `theme`.

        Answers on `view_ready` (and `report_ready` with the bare DTO).
        """
        task = self._runner.submit(
            _report_view, self._db, actor, shift_id, start, end, theme
        )
        task.signals.result.connect(self._on_view_result)
        self._start(task)

    def fetch_drift(self, *, windows: str = "shift", theme: str = "light") -> None:
        """Chart the active model's drift per shift or per N boards.

        Answers on `drift_ready` with a `DriftView`.
        """
        task = self._runner.submit(_drift_view, self._db, windows, theme)
        task.signals.result.connect(self._on_drift_result)
        self._start(task)

    def fetch_shifts(self) -> None:
        """List the shifts for the period picker; answers on `shifts_ready`."""
        task = self._runner.submit(_list_shifts, self._db)
        task.signals.result.connect(self._on_shifts_result)
        self._start(task)

    def export(self, actor: Any, report: Any, path: str | Path) -> None:
        """Write `report` to `path` (CSV, XLSX or PDF by extension) off the GUI thread.

        Answers on `exported(path)` or `failed(ErrorInfo)`.
        """
        target = Path(path)
        task = self._runner.submit(
            _export, self._db, actor, report, target, self.station
        )
        task.signals.result.connect(self._on_export_result)
        self._start(task)

    @Slot(object)
    def _on_report_result(self, report: object) -> None:
        self.report_ready.emit(report)

    @Slot(object)
    def _on_view_result(self, view: object) -> None:
        assert isinstance(view, ReportView)
        self.report_ready.emit(view.report)
        self.view_ready.emit(view)

    @Slot(object)
    def _on_drift_result(self, view: object) -> None:
        self.drift_ready.emit(view)

    @Slot(object)
    def _on_shifts_result(self, shifts: object) -> None:
        self.shifts_ready.emit(shifts)

    @Slot(object)
    def _on_export_result(self, path: object) -> None:
        self.exported.emit(str(path))
