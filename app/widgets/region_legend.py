"""`RegionLegendWidget`: the three confidence regions as colour chips with labels.

Colours come from `app.theme.REGION_COLOURS` (Okabe-Ito), and every chip carries its
name and a distinct marker, so the legend never relies on colour alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.theme import REGION_COLOURS, REGION_LABELS, REGION_TEXT_COLOURS
from inference.types import Region

if TYPE_CHECKING:
    from app.settings import Thresholds

# A distinct shape per region as well as a colour.
REGION_MARKERS: dict[Region, str] = {
    Region.DEFECT: "■",
    Region.POSSIBLE_DEFECT: "▲",
    Region.NON_DEFECT: "●",
}


class RegionLegendWidget(QWidget):
    """One chip per region, optionally with the probability range it covers."""

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        parent: QWidget | None = None,
        *,
        vertical: bool = False,
    ):
        super().__init__(parent)
        layout: QBoxLayout = QVBoxLayout(self) if vertical else QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6 if vertical else 8)
        self.chips: dict[Region, QLabel] = {}
        for region in (Region.DEFECT, Region.POSSIBLE_DEFECT, Region.NON_DEFECT):
            text = f"{REGION_MARKERS[region]}  {REGION_LABELS[region]}"
            if thresholds is not None:
                text += f":  {self._range(region, thresholds)}"
            chip = QLabel(text, self)
            chip.setObjectName(f"regionChip_{region.value}")
            chip.setStyleSheet(
                f"QLabel {{ background: {REGION_COLOURS[region]};"
                f" color: {REGION_TEXT_COLOURS[region]};"
                " border-radius: 4px; padding: 3px 10px; font-weight: bold; }"
            )
            layout.addWidget(chip, 0, Qt.AlignmentFlag.AlignLeft)
            self.chips[region] = chip
        layout.addStretch(1)

    @staticmethod
    def _range(region: Region, t: Thresholds) -> str:
        if region is Region.DEFECT:
            return f"p ≥ {t.t_hi:.2f}"
        if region is Region.POSSIBLE_DEFECT:
            return f"{t.t_lo:.2f} ≤ p < {t.t_hi:.2f}"
        return f"p < {t.t_lo:.2f}"
