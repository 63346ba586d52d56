"""The side-by-side evidence for promoting a model version (Model screen)."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

BETTER = QColor("#1b7f3b")
WORSE = QColor("#b3261e")
# (key, label, shown as a percentage); the order of `soldernet models compare`.
ROWS = (
    ("accuracy", "Accuracy", True),
    ("overkill", "Overkill", True),
    ("escape", "Escape", True),
    ("auroc", "AUROC", False),
    ("ece", "ECE", False),
    ("net_trust_score", "NetTrustScore", False),
    ("review_rate", "Review rate", True),
    ("auto_escape", "Auto-escape", True),
    ("auto_overkill", "Auto-overkill", True),
)


def _fmt(value: Any, pct: bool) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    return f"{100 * value:.2f} %" if pct else f"{value:.4f}"


class VersionComparison(QWidget):
    """Shows the recorded comparison of a candidate against the active version."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("Select a version to see its comparison.", self)
        self.caption.setObjectName("modelComparisonCaption")
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("modelComparison")
        self.table.setHorizontalHeaderLabels(["Figure", "Active", "Candidate", ""])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.has_evidence = False

    def show_comparison(
        self, version: str, active: str | None, details: dict[str, Any] | None
    ) -> None:
        """Show `details` (the `model_compared` audit details) or why there is none."""
        self.has_evidence = details is not None
        self.table.setRowCount(0)
        if active is None or active == version:
            self.caption.setText(
                f"{version} is the active version."
                if active == version
                else "No version is active yet."
            )
            self.table.hide()
            return
        if details is None:
            self.caption.setText(
                f"No side-by-side comparison of {version} against the active "
                f"{active} is on record, so it cannot be promoted yet. Run "
                f"`soldernet models compare {version} --data TEST_SET`."
            )
            self.table.hide()
            return
        data = details.get("data") or {}
        folders = ", ".join(data.get("folders") or []) or "?"
        changed = details.get("changed_calls") or {}
        self.caption.setText(
            f"{version} against {active} on {folders} [{data.get('split', 'all')}], "
            f"{details.get('n', '?')} images: {changed.get('fixed', 0)} calls fixed, "
            f"{changed.get('broken', 0)} broken."
        )
        figures = details.get("figures") or {}
        for key, label, pct in ROWS:
            fig = figures.get(key)
            if fig is None:
                continue
            row = self.table.rowCount()
            self.table.insertRow(row)
            verdict = {True: "better", False: "worse"}.get(fig.get("better"), "")
            cells = (label, _fmt(fig["old"], pct), _fmt(fig["new"], pct), verdict)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col in (1, 2):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if col == 3 and verdict:
                    item.setForeground(QBrush(BETTER if verdict == "better" else WORSE))
                self.table.setItem(row, col, item)
        self.table.show()
