"""Model tab: model card, evaluation, thresholds what-if (later releases)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.screens._placeholder import PlaceholderScreen
from app.widgets.empty_state import CARD_WIDTH
from app.widgets.region_legend import RegionLegendWidget

if TYPE_CHECKING:
    from app.settings import Settings


class ModelScreen(PlaceholderScreen):
    """The configured model folder and thresholds, above the empty state."""

    TITLE = "Model"
    HEADLINE = "Model card and evaluation"
    BODY = (
        "The defect network in use, how well it does on your data, and where its "
        "confidence thresholds sit."
    )
    FEATURES = (
        "Model card: architecture, data, metrics, thresholds, version and hash",
        "Accuracy, overkill, escape; trust matrix, trust spectrum; reliability and ECE",
        "Threshold what-if on past verdicts; SOXAI map",
        "Model versions with promote and rollback",
    )
    ARRIVES = "Arrives with training and evaluation (issues 4 and 5)"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        card = QFrame(self)
        card.setProperty("role", "card")
        card.setFixedWidth(CARD_WIDTH)
        form = QFormLayout(card)
        form.setContentsMargins(28, 16, 28, 16)
        model_dir = settings.model_dir
        installed = model_dir.is_dir() and any(model_dir.iterdir())
        self.model_label = QLabel(
            str(model_dir) if installed else f"{model_dir} (no model installed yet)",
            card,
        )
        self.model_label.setWordWrap(True)
        self.legend = RegionLegendWidget(settings.thresholds, card, vertical=True)
        form.addRow("Model folder", self.model_label)
        form.addRow("Regions", self.legend)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        page_layout = self.page.layout()
        assert isinstance(page_layout, QVBoxLayout)
        page_layout.insertLayout(0, row)
        page_layout.insertSpacing(1, 12)
