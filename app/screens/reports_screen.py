"""Reports tab: the supervisor's shift dashboard with charts and CSV/XLSX/PDF export.

The period is the current shift, a chosen shift or a date range (local days). KPI
tiles show the product.md §6 figures; the charts (Pareto by defect code and by refdes,
calls and their outcome) are drawn off the GUI thread by the controller and arrive as
QImages. Exports run on the task pool; the save dialog sits behind `ExportDialog.ask`
so tests can replace it.

The drift monitor (`app.widgets.drift_panel`) is the "Drift" tab next to the charts,
and its red banner sits above the KPI tiles while the active model's newest judged
window alarms. Further monitoring panels (vigilance) go into `detail_tabs` the same
way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QDate, QDir, QSize, Qt, Slot
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.figures_model import FiguresTableModel, report_rows
from app.theme import current_theme
from app.widgets.drift_panel import DriftBanner, DriftPanel
from app.widgets.empty_state import EmptyStateWidget, centred
from app.widgets.error_presenter import describe
from app.widgets.vigilance_panel import VigilancePanel

if TYPE_CHECKING:
    from app.controllers.report_controller import ReportController
    from app.controllers.vigilance_controller import VigilanceController

log = logging.getLogger(__name__)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _int(value: int | None) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _ppm(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _minutes(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds / 60:,.1f}"


# (key, title, formatter of the report, tooltip): the dashboard's tiles.
KPI_TILES: list[tuple[str, str, Any, str]] = [
    ("boards", "Boards", lambda r: _int(r.boards_inspected), "Boards inspected"),
    ("joints", "Joints", lambda r: _int(r.joints_inspected), "Opportunities"),
    ("calls", "Calls", lambda r: _int(r.calls), "Possible defect + defect region"),
    (
        "confirmed",
        "Confirmed defects",
        lambda r: _int(r.confirmed_defects),
        "Current verdict confirmed (or repaired/scrapped)",
    ),
    ("false_calls", "False calls", lambda r: _int(r.false_calls), "Not a defect"),
    (
        "false_call_ppm",
        "False-call PPM",
        lambda r: _ppm(r.false_call_ppm),
        "False calls / joints x 1e6",
    ),
    (
        "fpy",
        "First-pass yield",
        lambda r: _pct(r.fpy),
        "Boards with no confirmed defect / boards",
    ),
    (
        "review_minutes",
        "Review minutes",
        lambda r: _minutes(r.review_seconds_total),
        "Sum of seconds spent on current verdicts",
    ),
    (
        "agreement",
        "Agreement",
        lambda r: _pct(r.operator_model_agreement),
        "Inspector's call equals the model's decision at p = 0.5",
    ),
]
TILE_COLUMNS = 5
CHART_TITLES = {
    "pareto_by_code": "Pareto by defect code",
    "pareto_by_refdes": "Pareto by refdes",
    "calls": "Calls",
}


class KpiTile(QFrame):
    """One figure: a big value over a small title."""

    def __init__(self, title: str, tooltip: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setToolTip(tooltip)
        self.value_label = QLabel("–", self)
        self.value_label.setProperty("role", "heading")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label = QLabel(title, self)
        self.title_label.setProperty("role", "muted")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.value_label)
        layout.addWidget(self.title_label)

    def set_value(self, text: str) -> None:
        """Show `text` as the tile's value."""
        self.value_label.setText(text)


class ImageView(QLabel):
    """Shows a QImage scaled to fit, keeping its aspect ratio (GUI thread only)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(160, 100))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def image(self) -> QImage:
        """The image shown (null when none)."""
        return self._image

    def set_image(self, image: QImage) -> None:
        """Show `image` (the QPixmap is made here, on the GUI thread)."""
        self._image = image
        self._rescale()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._image.isNull():
            self.clear()
            return
        pix = QPixmap.fromImage(self._image)
        self.setPixmap(
            pix.scaled(
                self.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


class ExportDialog:
    """The save dialog of an export, behind one classmethod that tests replace."""

    FILTERS: ClassVar[dict[str, str]] = {
        ".csv": "CSV table (*.csv)",
        ".xlsx": "Excel workbook (*.xlsx)",
        ".pdf": "PDF report with charts (*.pdf)",
    }

    @classmethod
    def ask(cls, parent: QWidget | None, suffix: str, suggested: str) -> Path | None:
        """Ask where to save; None when the user cancels."""
        name, _filter = QFileDialog.getSaveFileName(
            parent,
            "Export report",
            str(Path(QDir.homePath()) / suggested),
            cls.FILTERS.get(suffix, ""),
        )
        if not name:
            return None
        path = Path(name)
        return path if path.suffix.lower() == suffix else path.with_suffix(suffix)


class ReportsScreen(QWidget):
    """Shift dashboard for supervisors, engineers and administrators."""

    TITLE = "Reports"
    PAGE_NOT_ALLOWED, PAGE_FIGURES = range(2)
    MODE_CURRENT, MODE_SHIFT, MODE_RANGE = range(3)

    def __init__(
        self,
        reports: ReportController,
        parent: QWidget | None = None,
        vigilance: VigilanceController | None = None,
    ) -> None:
        super().__init__(parent)
        self._reports = reports
        self._vigilance = vigilance
        self._session: Any = None
        self.report: Any = None

        # -- period picker and actions
        heading = QLabel("Shift report", self)
        heading.setProperty("role", "heading")
        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("reportsMode")
        self.mode_combo.addItems(["Current shift", "A shift", "Date range"])
        self.mode_combo.currentIndexChanged.connect(self._on_mode_combo_changed)
        self.shift_combo = QComboBox(self)
        self.shift_combo.setObjectName("reportsShift")
        self.shift_combo.setMinimumWidth(200)
        self.shift_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.shift_combo.setMinimumContentsLength(24)
        today = QDate.currentDate()
        self.from_edit = QDateEdit(today, self)
        self.to_edit = QDateEdit(today, self)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.to_label = QLabel("to", self)
        self.refresh_button = QPushButton("Show", self)
        self.refresh_button.setObjectName("reportsRefresh")
        self.refresh_button.setProperty("role", "primary")
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.export_buttons: dict[str, QPushButton] = {}
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(16)
        for w in (
            self.mode_combo,
            self.shift_combo,
            self.from_edit,
            self.to_label,
            self.to_edit,
            self.refresh_button,
        ):
            top.addWidget(w)
        top.addStretch(1)
        exports = QHBoxLayout()
        for suffix in (".csv", ".xlsx", ".pdf"):
            button = QPushButton(f"Export {suffix[1:].upper()}", self)
            button.setObjectName(f"reportsExport{suffix[1:].capitalize()}")
            button.setEnabled(False)
            button.setProperty("suffix", suffix)
            button.clicked.connect(self._on_export_button_clicked)
            exports.addWidget(button)
            self.export_buttons[suffix] = button

        self.scope_label = QLabel("", self)
        self.scope_label.setProperty("role", "muted")
        self.note_label = QLabel("", self)
        self.note_label.setObjectName("reportsNote")
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        info = QHBoxLayout()
        info.addWidget(self.scope_label, 1)
        info.addWidget(self.note_label, 1)
        info.addLayout(exports)

        # -- KPI tiles
        self.tiles: dict[str, KpiTile] = {}
        grid = QGridLayout()
        grid.setSpacing(8)
        for i, (key, title, _fmt, tip) in enumerate(KPI_TILES):
            tile = KpiTile(title, tip, self)
            tile.setObjectName(f"kpi_{key}")
            self.tiles[key] = tile
            grid.addWidget(tile, i // TILE_COLUMNS, i % TILE_COLUMNS)

        # -- charts and the full table
        charts = QWidget(self)
        charts_layout = QHBoxLayout(charts)
        charts_layout.setContentsMargins(4, 4, 4, 4)
        self.charts: dict[str, ImageView] = {}
        for name in CHART_TITLES:
            view = ImageView(charts)
            view.setObjectName(f"chart_{name}")
            view.setAccessibleName(CHART_TITLES[name])
            charts_layout.addWidget(view, 1)
            self.charts[name] = view
        self.model = FiguresTableModel(parent=self)
        self.table = QTableView(self)
        self.table.setObjectName("reportTable")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QTableView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.detail_tabs = QTabWidget(self)
        self.detail_tabs.addTab(charts, "Charts")
        self.detail_tabs.addTab(self.table, "All figures")
        self.drift_panel = DriftPanel(self)
        self.drift_panel.setObjectName("driftPanel")
        self.drift_panel.windows_changed.connect(self._on_drift_panel_windows_changed)
        self.detail_tabs.addTab(self.drift_panel, "Drift")
        self.vigilance_panel: VigilancePanel | None = None
        if vigilance is not None:
            self.vigilance_panel = VigilancePanel(vigilance, self)
            self.detail_tabs.addTab(self.vigilance_panel, "Vigilance")
        self.drift_banner = DriftBanner(self)
        self.drift_banner.show_requested.connect(self._on_drift_banner_show_requested)

        dashboard = QWidget(self)
        dash = QVBoxLayout(dashboard)
        dash.setContentsMargins(0, 0, 0, 0)
        dash.addLayout(top)
        dash.addLayout(info)
        dash.addWidget(self.drift_banner)
        dash.addLayout(grid)
        dash.addWidget(self.detail_tabs, 1)

        not_allowed = centred(
            EmptyStateWidget(
                "Shift reports are for supervisors",
                "Supervisors, engineers and administrators see the shift dashboard "
                "here: boards, joints, calls, confirmed defects, false calls, "
                "false-call PPM, first-pass yield and review minutes, with CSV, "
                "XLSX and PDF export.",
                arrives="Ask a supervisor for your shift's figures",
                parent=self,
            ),
            self,
        )
        self.stack = QStackedWidget(self)
        self.stack.addWidget(not_allowed)
        self.stack.addWidget(dashboard)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.addWidget(self.stack)

        reports.view_ready.connect(self._on_reports_view_ready)
        reports.drift_ready.connect(self._on_reports_drift_ready)
        reports.shifts_ready.connect(self._on_reports_shifts_ready)
        reports.exported.connect(self._on_reports_exported)
        reports.failed.connect(self._on_reports_failed)
        reports.busy_changed.connect(self._on_reports_busy_changed)
        self._on_mode_combo_changed(self.MODE_CURRENT)

    # -- session -------------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Show the dashboard of `session`'s shift (or the not-allowed page)."""
        self._session = session
        self._show(None)
        self.drift_banner.set_report(None)
        self.drift_panel.set_view(None, None)
        if session is None:
            return
        allowed = self._reports.may_view(session.role)
        self.stack.setCurrentIndex(
            self.PAGE_FIGURES if allowed else self.PAGE_NOT_ALLOWED
        )
        if allowed:
            self.mode_combo.setCurrentIndex(self.MODE_CURRENT)
            self._reports.fetch_shifts()
            self.refresh()

    def period(self) -> dict[str, Any]:
        """The chosen period as `shift_report` keywords (shift_id or start/end)."""
        mode = self.mode_combo.currentIndex()
        if mode == self.MODE_SHIFT and self.shift_combo.currentData() is not None:
            return {"shift_id": int(self.shift_combo.currentData())}
        if mode == self.MODE_RANGE:
            first = self.from_edit.date().toPython()
            last = self.to_edit.date().toPython()
            # Local days; the service takes aware datetimes.
            start = datetime.combine(first, time()).astimezone()
            end = datetime.combine(last + timedelta(days=1), time()).astimezone()
            return {"start": start, "end": end}
        return {"shift_id": self._session.shift.id if self._session else None}

    def refresh(self) -> None:
        """Fetch the chosen period's report in the background."""
        if self._session is None or not self._reports.may_view(self._session.role):
            return
        self._note("")
        app = QApplication.instance()
        theme = current_theme(app) if isinstance(app, QApplication) else "light"
        self._reports.fetch_view(self._session.user, theme=theme, **self.period())
        self._reports.fetch_drift(windows=self.drift_panel.window_kind, theme=theme)

    # -- display -------------------------------------------------------------------
    def _show(self, report: Any) -> None:
        self.report = report
        for button in self.export_buttons.values():
            button.setEnabled(report is not None and not self._reports.busy)
        if report is None:
            self.model.set_rows([])
            for tile in self.tiles.values():
                tile.set_value("–")
            for view in self.charts.values():
                view.set_image(QImage())
            self.scope_label.clear()
            return
        self.model.set_rows(report_rows(report))
        for key, _title, fmt, _tip in KPI_TILES:
            self.tiles[key].set_value(fmt(report))
        self.scope_label.setText(self._describe_period(report))

    @staticmethod
    def _describe_period(report: Any) -> str:
        def local(value: datetime) -> str:
            return value.astimezone().strftime("%Y-%m-%d %H:%M")

        span = f"{local(report.period_start)} to {local(report.period_end)}"
        if report.shift_id is not None:
            return f"Shift #{report.shift_id}: {span}"
        return span

    def _suggested_name(self, suffix: str) -> str:
        report = self.report
        stamp = report.period_start.astimezone(UTC).strftime("%Y%m%d-%H%M")
        what = f"shift{report.shift_id}" if report.shift_id is not None else "period"
        return f"soldernet-report-{what}-{stamp}{suffix}"

    # -- slots ---------------------------------------------------------------------
    @Slot(int)
    def _on_mode_combo_changed(self, mode: int) -> None:
        self.shift_combo.setVisible(mode == self.MODE_SHIFT)
        for w in (self.from_edit, self.to_label, self.to_edit):
            w.setVisible(mode == self.MODE_RANGE)

    @Slot()
    def _on_refresh_button_clicked(self) -> None:
        self.refresh()

    @Slot()
    def _on_export_button_clicked(self) -> None:
        button = self.sender()
        suffix = str(button.property("suffix")) if button is not None else ".csv"
        if self.report is None or self._session is None:
            return
        path = ExportDialog.ask(self, suffix, self._suggested_name(suffix))
        if path is None:
            return
        self._note(f"Exporting {path.name}…")
        self._reports.export(self._session.user, self.report, path)

    @Slot(object)
    def _on_reports_view_ready(self, view: Any) -> None:
        self._show(view.report)
        if self.vigilance_panel is not None and self._session is not None:
            # The seeded-joint scores of the same period, for those who may see them.
            allowed = self._vigilance.may_view(self._session.role)  # type: ignore[union-attr]
            self.detail_tabs.setTabVisible(
                self.detail_tabs.indexOf(self.vigilance_panel), allowed
            )
            if allowed:
                self.vigilance_panel.load(
                    self._session.user, view.report.period_start, view.report.period_end
                )
        for name, image in view.charts.items():
            if name in self.charts:
                self.charts[name].set_image(image)

    @Slot(object)
    def _on_reports_drift_ready(self, view: Any) -> None:
        self.drift_panel.set_view(view.report, view.chart)
        self.drift_banner.set_report(view.report)

    @Slot(str)
    def _on_drift_panel_windows_changed(self, windows: str) -> None:
        if self._session is None or not self._reports.may_view(self._session.role):
            return
        app = QApplication.instance()
        theme = current_theme(app) if isinstance(app, QApplication) else "light"
        self._reports.fetch_drift(windows=windows, theme=theme)

    @Slot()
    def _on_drift_banner_show_requested(self) -> None:
        self.detail_tabs.setCurrentWidget(self.drift_panel)

    @Slot(object)
    def _on_reports_shifts_ready(self, shifts: Any) -> None:
        current = self.shift_combo.currentData()
        self.shift_combo.clear()
        for shift in shifts:
            started = shift.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
            ended = (
                shift.ended_at.astimezone().strftime("%H:%M")
                if shift.ended_at
                else "open"
            )
            self.shift_combo.addItem(
                f"#{shift.id} {shift.user_name}, {started} to {ended}", shift.id
            )
        if current is not None:
            index = self.shift_combo.findData(current)
            if index >= 0:
                self.shift_combo.setCurrentIndex(index)

    def _note(self, text: str, *, error: bool = False) -> None:
        self.note_label.setProperty("role", "error" if error else "")
        self.note_label.setText(text)
        self.note_label.style().unpolish(self.note_label)
        self.note_label.style().polish(self.note_label)

    @Slot(str)
    def _on_reports_exported(self, path: str) -> None:
        self._note(f"Saved {path}")

    @Slot(object)
    def _on_reports_failed(self, error: Any) -> None:
        self._note(describe(error), error=True)

    @Slot(bool)
    def _on_reports_busy_changed(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)
        for button in self.export_buttons.values():
            button.setEnabled(not busy and self.report is not None)
        self.setCursor(
            Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor
        )
