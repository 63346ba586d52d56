"""Drift monitor on the Reports tab: control charts and the alarm banner.

`drift_chart_png(report, theme)` draws the five control charts of a
`db.services.drift.DriftReport` with matplotlib (`Figure`, never `pyplot`), so the
controller can draw them on a pool thread; `DriftPanel` shows the QImage with the
reference window and the alarms as text; `DriftBanner` is the red bar the Reports
screen puts above its KPI tiles when the newest judged window alarms.

Nothing here depends on colour alone: alarming points are large crosses, points
with too few joints are hollow circles, and the banner spells the alarm out.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inference.drift import CHART_TITLES, CHARTS, PROPORTION_CHARTS, describe_alarm

BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREY = "#6B6B6B"
ALERT_BG = "#B3261E"  # white text on it: contrast 6.5:1

# (label, window kind) of the panel's window picker; the first is the default.
WINDOW_CHOICES = (
    ("Per shift (8 h from 06:00)", "shift"),
    ("Per 50 boards", "boards"),
)
ACTION = "check the camera, lighting and focus"


def _short(label: str) -> str:
    """A window label short enough for the x axis ("11-29 06:00", "boards 1–50")."""
    if label[:4].isdigit() and len(label) >= 16:
        return label[5:16]
    return label


def drift_chart_png(
    report: Any, *, theme: str = "light", size: tuple[float, float] = (12.5, 5.2)
) -> bytes:
    """The five control charts of a drift report as PNG bytes (any thread).

    A 3 x 2 grid: mean logit and PSI, review-band and false-call rates,
    disagreement and a key. Limits are drawn only where a window can alarm.
    """
    from contextlib import nullcontext

    import matplotlib as mpl
    from matplotlib.lines import Line2D

    from app.reports.charts import DARK_RC

    ctx = mpl.rc_context(DARK_RC) if theme == "dark" else nullcontext()
    with ctx:
        fig = Figure(figsize=size, dpi=100, layout="constrained")
        grid = fig.subplots(3, 2)
        axes = [grid[0][0], grid[0][1], grid[1][0], grid[1][1], grid[2][0]]
        windows = list(report.windows)
        xs = list(range(len(windows)))
        labels = [_short(w.label) for w in windows]
        for ax, chart in zip(axes, CHARTS, strict=True):
            pts = [w.points.get(chart) for w in windows]
            pct = chart in PROPORTION_CHARTS
            scale = 100.0 if pct else 1.0

            def val(x: float | None, s: float = scale) -> float:
                return float("nan") if x is None else x * s

            judged = [p is not None and p.status in ("ok", "alarm") for p in pts]
            ax.plot(
                xs,
                [val(p.value if p else None) for p in pts],
                color=BLUE,
                marker="o",
                markersize=3,
                linewidth=1,
            )
            for attr in ("ucl", "lcl"):
                ax.step(
                    xs,
                    [
                        val(getattr(p, attr) if p and ok else None)
                        for p, ok in zip(pts, judged, strict=True)
                    ],
                    where="mid",
                    color=GREY,
                    linestyle="--",
                    linewidth=0.8,
                )
            ax.plot(xs, [val(p.centre if p else None) for p in pts], color=GREY, lw=0.8)
            alarm_x = [x for x, p in zip(xs, pts, strict=True) if p and p.alarm]
            ax.plot(
                alarm_x,
                [val(pts[x].value) for x in alarm_x],  # type: ignore[union-attr]
                linestyle="none",
                marker="X",
                markersize=9,
                color=VERMILLION,
            )
            few_x = [
                x
                for x, p in zip(xs, pts, strict=True)
                if p and p.status == "too_few" and p.value is not None
            ]
            ax.plot(
                few_x,
                [val(pts[x].value) for x in few_x],  # type: ignore[union-attr]
                linestyle="none",
                marker="o",
                markersize=6,
                markerfacecolor="none",
                color=GREY,
            )
            ax.set_title(
                CHART_TITLES[chart] + (" (%)" if pct else ""), fontsize=8, loc="left"
            )
            bottom = chart in ("false_call", "disagreement")
            ax.set_xticks(xs, labels if bottom else [""] * len(xs))
            if bottom:
                ax.tick_params(axis="x", labelrotation=30, labelsize=6)
            ax.tick_params(axis="y", labelsize=7)
            ax.grid(alpha=0.25)
        key = grid[2][1]
        key.axis("off")
        key.legend(
            handles=[
                Line2D([], [], color=BLUE, marker="o", markersize=3, label="window"),
                Line2D([], [], color=GREY, label="centre (reference)"),
                Line2D([], [], color=GREY, ls="--", label="control limits"),
                Line2D(
                    [],
                    [],
                    color=VERMILLION,
                    marker="X",
                    ls="none",
                    markersize=9,
                    label="alarm",
                ),
                Line2D(
                    [],
                    [],
                    color=GREY,
                    marker="o",
                    ls="none",
                    markerfacecolor="none",
                    label="too few to judge",
                ),
            ],
            loc="center",
            fontsize=8,
            frameon=False,
        )
        if not windows:
            axes[0].set_title("no windows yet", fontsize=9, color=GREY)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def alarm_text(report: Any) -> str:
    """The banner's sentence, or "" when the newest judged window is in control."""
    window = getattr(report, "judged", None)
    if window is None or not window.alarms:
        return ""
    what = "; ".join(describe_alarm(pt) for pt in window.alarms)
    where = (
        window.label if window.label.startswith("boards") else f"shift {window.label}"
    )
    return f"Drift alarm ({report.model_version}): {what} in {where} — {ACTION}."


class DriftBanner(QFrame):
    """A red bar naming the chart that alarms and by how much; hidden otherwise."""

    # The user asked to see the drift charts.
    show_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("driftBanner")
        self.setStyleSheet(
            f"QFrame#driftBanner {{ background: {ALERT_BG}; border-radius: 4px; }}"
            "QFrame#driftBanner QLabel { color: white; font-weight: bold; }"
        )
        self.label = QLabel("", self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton("Show drift charts", self)
        self.button.setObjectName("driftBannerShow")
        self.button.clicked.connect(self.show_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.setAccessibleName("Drift alarm")
        self.hide()

    def set_report(self, report: Any) -> None:
        """Show the alarm of `report` (or hide when there is none)."""
        text = alarm_text(report) if report is not None else ""
        self.label.setText(text)
        self.setVisible(bool(text))


class DriftPanel(QWidget):
    """Control charts of the model's confidences and calls, window by window."""

    # The user picked another window kind: "shift" or "boards".
    windows_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.screens.reports_screen import ImageView

        self.report: Any = None
        self.window_combo = QComboBox(self)
        self.window_combo.setObjectName("driftWindows")
        for label, kind in WINDOW_CHOICES:
            self.window_combo.addItem(label, kind)
        self.window_combo.currentIndexChanged.connect(self._on_window_combo_changed)
        self.summary = QLabel("", self)
        self.summary.setObjectName("driftSummary")
        self.summary.setWordWrap(True)
        self.summary.setProperty("role", "muted")
        self.alarms = QLabel("", self)
        self.alarms.setObjectName("driftAlarms")
        self.alarms.setWordWrap(True)
        self.chart = ImageView(self)
        self.chart.setObjectName("driftChart")
        self.chart.setAccessibleName("Drift control charts")
        top = QHBoxLayout()
        top.addWidget(QLabel("Windows:", self))
        top.addWidget(self.window_combo)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.alarms)
        layout.addWidget(self.chart, 1)

    @property
    def window_kind(self) -> str:
        """The chosen window kind ("shift" or "boards")."""
        return str(self.window_combo.currentData())

    def set_view(self, report: Any, image: QImage | None) -> None:
        """Show a drift report and its chart image (GUI thread)."""
        self.report = report
        self.chart.set_image(image if image is not None else QImage())
        if report is None or report.model_version is None:
            self.summary.setText("No finished inspections yet: nothing to chart.")
            self.alarms.clear()
            return
        ref = report.reference
        if ref is None or ref.start is None or report.model is None:
            ref_text = "no reference joints yet"
        else:
            how = "default: first joints" if ref.is_default else f"set by {ref.set_by}"
            ref_text = (
                f"reference {ref.start.astimezone():%Y-%m-%d %H:%M} to "
                f"{ref.end.astimezone():%Y-%m-%d %H:%M} ({how}, "
                f"{report.model.stats.n_joints:,} joints)"
            )
        self.summary.setText(f"Model {report.model_version}; {ref_text}.")
        judged = report.judged
        if judged is None:
            self.alarms.setText("Not enough joints yet to judge a window.")
        elif judged.alarms:
            self.alarms.setText(
                "ALARM in "
                + judged.label
                + ": "
                + "; ".join(describe_alarm(pt) for pt in judged.alarms)
            )
        else:
            self.alarms.setText(f"In control: {judged.label}.")

    @Slot(int)
    def _on_window_combo_changed(self, _index: int) -> None:
        self.windows_changed.emit(self.window_kind)
