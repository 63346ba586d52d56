"""Reports tab: the current shift's figures (the dashboard and exports come later)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.figures_model import FiguresTableModel, report_rows
from app.widgets.empty_state import EmptyStateWidget, centred

if TYPE_CHECKING:
    from app.controllers.report_controller import ReportController


FIGURES_MAX_WIDTH = 760


class ReportsScreen(QWidget):
    """Shift figures in a table for supervisors, engineers and administrators."""

    TITLE = "Reports"
    PAGE_NOT_ALLOWED, PAGE_FIGURES = range(2)

    def __init__(
        self, reports: ReportController, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._reports = reports
        self._session: Any = None

        heading = QLabel("Shift report", self)
        heading.setProperty("role", "heading")
        self.scope_label = QLabel("", self)
        self.scope_label.setProperty("role", "muted")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("reportsRefresh")
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(12)
        top.addWidget(self.scope_label, 1)
        top.addWidget(self.refresh_button)

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
        self.note_label = QLabel(
            "Charts, the defect Pareto, operator agreement and CSV / XLSX / PDF export "
            "arrive with the supervisor dashboard (a later release). From the command "
            "line: soldernet report.",
            self,
        )
        self.note_label.setProperty("role", "muted")
        self.note_label.setWordWrap(True)
        figures = QWidget(self)
        figures.setMaximumWidth(FIGURES_MAX_WIDTH)
        fig_layout = QVBoxLayout(figures)
        fig_layout.setContentsMargins(0, 0, 0, 0)
        fig_layout.addLayout(top)
        fig_layout.addWidget(self.table, 1)
        fig_layout.addWidget(self.note_label)

        not_allowed = centred(
            EmptyStateWidget(
                "Shift reports are for supervisors",
                "Supervisors, engineers and administrators see the shift dashboard "
                "here: boards, joints, calls, confirmed defects, false calls, "
                "false-call PPM, first-pass yield and review minutes.",
                arrives="Ask a supervisor for your shift's figures",
                parent=self,
            ),
            self,
        )
        self.stack = QStackedWidget(self)
        self.stack.addWidget(not_allowed)
        self.stack.addWidget(figures)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.addWidget(self.stack)

        reports.report_ready.connect(self._on_reports_report_ready)
        reports.busy_changed.connect(self._on_reports_busy_changed)

    def set_session(self, session: Any) -> None:
        """Show the figures of `session`'s shift (or the not-allowed page)."""
        self._session = session
        self.model.set_rows([])
        if session is None:
            return
        allowed = self._reports.may_view(session.role)
        self.stack.setCurrentIndex(
            self.PAGE_FIGURES if allowed else self.PAGE_NOT_ALLOWED
        )
        if allowed:
            self.scope_label.setText(f"Current shift #{session.shift.id}")
            self.refresh()

    def refresh(self) -> None:
        """Fetch the current shift's report in the background."""
        if self._session is not None and self._reports.may_view(self._session.role):
            self._reports.fetch_shift_report(self._session.user, self._session.shift.id)

    @Slot()
    def _on_refresh_button_clicked(self) -> None:
        self.refresh()

    @Slot(object)
    def _on_reports_report_ready(self, report: object) -> None:
        self.model.set_rows(report_rows(report))

    @Slot(bool)
    def _on_reports_busy_changed(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)
        self.table.setCursor(
            Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor
        )
