"""`EmptyStateWidget`: what a screen will show, and which release brings it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from collections.abc import Sequence

CARD_WIDTH = 640


class EmptyStateWidget(QFrame):
    """A card: title, a sentence, the features to come, and when they come."""

    def __init__(
        self,
        title: str,
        body: str,
        features: Sequence[str] = (),
        arrives: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setProperty("role", "card")
        self.setFixedWidth(CARD_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(8)
        self.title_label = self._label(title, "subheading")
        self.body_label = self._label(body, "")
        layout.addWidget(self.title_label)
        layout.addWidget(self.body_label)
        if features:
            layout.addSpacing(4)
        self.feature_labels = [self._label(f"•  {text}", "") for text in features]
        for label in self.feature_labels:
            label.setIndent(8)
            layout.addWidget(label)
        self.arrives_label = self._label(arrives, "badge")
        self.arrives_label.setWordWrap(False)
        self.arrives_label.setVisible(bool(arrives))
        layout.addSpacing(6)
        layout.addWidget(self.arrives_label, 0, Qt.AlignmentFlag.AlignLeft)

    def _label(self, text: str, role: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        if role:
            label.setProperty("role", role)
        return label


def centred(widget: QWidget, parent: QWidget | None = None) -> QWidget:
    """A page that shows `widget` centred horizontally near the top.

    Stretches (not an alignment flag) centre it, so word-wrapped labels inside get
    their height-for-width and are never clipped.
    """
    page = QWidget(parent)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(widget)
    row.addStretch(1)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(24, 32, 24, 24)
    layout.addLayout(row)
    layout.addStretch(1)
    return page
