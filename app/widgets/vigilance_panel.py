"""`VigilancePanel`: the supervisor's table of inspector vigilance scores.

Self-contained: give it a `VigilanceController` and call
``controller.load(actor, start, end)`` (or ``panel.load(...)``); the panel fills its
table when `scores_ready` arrives. It never touches the database itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets.error_presenter import describe

if TYPE_CHECKING:
    from datetime import datetime

    from app.controllers.vigilance_controller import VigilanceController

COLUMNS = (
    ("Inspector", "user_name"),
    ("Seeds", "seeds"),
    ("Hits", "hits"),
    ("Misses", "misses"),
    ("False alarms", "false_alarms"),
    ("Correct rejections", "correct_rejections"),
    ("Skipped", "skipped"),
    ("Hit rate", "hit_rate"),
    ("False-alarm rate", "false_alarm_rate"),
    ("d′", "d_prime"),
    ("Changed", "changed"),
)
TOOLTIPS = {
    "seeds": "Seeded joints whose current verdict is this inspector's",
    "hits": "Known defects confirmed as defects",
    "misses": "Known defects called false calls (escapes in production)",
    "false_alarms": "Known-good joints confirmed as defects (overkill)",
    "correct_rejections": "Known-good joints called false calls",
    "skipped": "Seeds skipped / escalated: not scored",
    "hit_rate": "Hits / (hits + misses)",
    "false_alarm_rate": "False alarms / (false alarms + correct rejections)",
    "d_prime": "Sensitivity z(hit rate) - z(false-alarm rate), log-linear corrected; "
    "higher is better, 0 is guessing",
    "changed": "Seeds whose verdict was changed after the first answer (e.g. after "
    "the reveal); only the current verdict is scored",
}
EXPLANATION = (
    "Known-defect and known-good joints from a seed library are slipped into the "
    "review queue at a set rate, looking like any other queued joint. The inspector "
    "is told a joint was a test only after giving the verdict. Seeds never reach "
    "rework or the production report. Scores use each seed's current verdict; "
    "skipped seeds are not scored. A low hit rate means missed defects (escapes), a "
    "high false-alarm rate means overkill; judge rates only over enough seeds."
)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


class VigilancePanel(QWidget):
    """A table of per-inspector vigilance scores with a short explanation.

    Args:
        controller: loads the scores (`VigilanceController`).
        parent: the parent widget.
    """

    def __init__(
        self, controller: VigilanceController, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("vigilancePanel")
        self._controller = controller
        self.scores: Any = None
        heading = QLabel("Inspector vigilance", self)
        heading.setProperty("role", "heading")
        self.explanation = QLabel(EXPLANATION, self)
        self.explanation.setWordWrap(True)
        self.explanation.setProperty("role", "muted")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("vigilanceTable")
        self.table.setHorizontalHeaderLabels([c[0] for c in COLUMNS])
        for col, (_title, key) in enumerate(COLUMNS):
            header = self.table.horizontalHeaderItem(col)
            if header is not None and key in TOOLTIPS:
                header.setToolTip(TOOLTIPS[key])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch
        )
        self.status = QLabel("", self)
        self.status.setObjectName("vigilanceStatus")
        self.status.setProperty("role", "muted")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.explanation)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        controller.scores_ready.connect(self._on_controller_scores_ready)
        controller.failed.connect(self._on_controller_failed)
        controller.busy_changed.connect(self._on_controller_busy_changed)

    def load(
        self, actor: Any, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Ask the controller for the scores of [start, end) (None: all time)."""
        self._controller.load(actor, start, end)

    def set_scores(self, scores: Any) -> None:
        """Show a `VigilanceScores` DTO (one row per inspector, then the total)."""
        self.scores = scores
        rows = [*scores.inspectors, scores.total] if scores.inspectors else []
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            is_total = r == len(rows) - 1
            for c, (_title, key) in enumerate(COLUMNS):
                value = getattr(row, key)
                if key in ("hit_rate", "false_alarm_rate"):
                    text = _rate(value)
                elif key == "user_name" and is_total:
                    text = "All inspectors"
                else:
                    text = _cell(value)
                item = QTableWidgetItem(text)
                if c > 0:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if is_total:
                    item.setFont(bold)
                self.table.setItem(r, c, item)
        self.table.setCurrentItem(None)
        if not rows:
            text = "No seeded joint has a verdict in this period."
        else:
            text = f"{scores.total.seeds} seeded joint(s) reviewed."
        if scores.seeds_waiting:
            text += f" {scores.seeds_waiting} seed(s) still wait in the queue."
        self.status.setText(text)

    @Slot(object)
    def _on_controller_scores_ready(self, scores: object) -> None:
        self.set_scores(scores)

    @Slot(object)
    def _on_controller_failed(self, error: object) -> None:
        self.status.setText(f"Cannot show vigilance scores: {describe(error)}")  # type: ignore[arg-type]

    @Slot(bool)
    def _on_controller_busy_changed(self, busy: bool) -> None:
        if busy:
            self.status.setText("Loading vigilance scores…")
