"""Histogram of past verdicts by model confidence with the review band shaded.

Used by the Model tab's threshold what-if.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

HIST_BINS = 20
# Okabe-Ito, as app.theme: confirmed defects vermillion, good joints blue.
DEFECT_COLOUR = "#D55E00"
GOOD_COLOUR = "#0072B2"


class OutcomeHistogram(QWidget):
    """Past verdicts by model confidence: stacked bars (defect over good) in 20 bins,
    the review band between t_lo and t_hi shaded. Painted with QPainter (cheap
    enough to follow a slider on the GUI thread)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(150)
        self.good = np.zeros(HIST_BINS, dtype=np.int64)
        self.defect = np.zeros(HIST_BINS, dtype=np.int64)
        self.t_lo, self.t_hi = 0.2, 0.8
        self.setToolTip(
            "Past verdicts by model confidence: confirmed defects (vermillion, top) "
            "over good joints (blue); the shaded band goes to human review."
        )

    def set_data(self, p: np.ndarray, y: np.ndarray) -> None:
        """Bin the (p, y) pairs."""
        edges = np.linspace(0.0, 1.0, HIST_BINS + 1)
        self.good = np.histogram(p[y == 0], bins=edges)[0]
        self.defect = np.histogram(p[y == 1], bins=edges)[0]
        self.update()

    def set_thresholds(self, t_lo: float, t_hi: float) -> None:
        """Move the shaded review band."""
        self.t_lo, self.t_hi = t_lo, t_hi
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(pal.ColorRole.WindowText)
        m_left, m_right, m_top, m_bottom = 8, 8, 6, 18
        w = self.width() - m_left - m_right
        h = self.height() - m_top - m_bottom
        x0, y0 = m_left, m_top + h
        band = QColor(text)
        band.setAlpha(28)
        painter.fillRect(
            QRectF(x0 + self.t_lo * w, m_top, (self.t_hi - self.t_lo) * w, h), band
        )
        tallest = int((self.good + self.defect).max()) if self.good.size else 0
        if tallest > 0:
            bar_w = w / HIST_BINS
            for i in range(HIST_BINS):
                good_h = h * self.good[i] / tallest
                defect_h = h * self.defect[i] / tallest
                x = x0 + i * bar_w + 1
                painter.fillRect(
                    QRectF(x, y0 - good_h, bar_w - 2, good_h), QColor(GOOD_COLOUR)
                )
                painter.fillRect(
                    QRectF(x, y0 - good_h - defect_h, bar_w - 2, defect_h),
                    QColor(DEFECT_COLOUR),
                )
        pen = QPen(text)
        pen.setWidthF(1.5)
        painter.setPen(pen)
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + w, y0))
        for value, label in ((self.t_lo, "t_lo"), (self.t_hi, "t_hi")):
            x = x0 + value * w
            painter.drawLine(QPointF(x, m_top), QPointF(x, y0))
            painter.drawText(
                QRectF(x - 30, y0 + 2, 60, 14), Qt.AlignmentFlag.AlignHCenter, label
            )
        painter.drawText(QRectF(x0, y0 + 2, 30, 14), Qt.AlignmentFlag.AlignLeft, "0")
        painter.drawText(
            QRectF(x0 + w - 30, y0 + 2, 30, 14), Qt.AlignmentFlag.AlignRight, "1"
        )
        painter.end()
