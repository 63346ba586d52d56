"""Shared base for tabs whose feature arrives in a later release."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.widgets.empty_state import EmptyStateWidget, centred

if TYPE_CHECKING:
    from collections.abc import Sequence


class PlaceholderScreen(QWidget):
    """An empty state that says what will appear here and which release fills it."""

    TITLE = ""
    HEADLINE = ""
    BODY = ""
    FEATURES: Sequence[str] = ()
    ARRIVES = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_state = EmptyStateWidget(
            self.HEADLINE, self.BODY, self.FEATURES, self.ARRIVES, self
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.page = centred(self.empty_state, self)
        layout.addWidget(self.page)

    def set_session(self, session: Any) -> None:
        """Nothing to refresh yet."""
