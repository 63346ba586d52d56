"""Review tab: the inspector's queue of possibly defective joints (later release)."""

from __future__ import annotations

from app.screens._placeholder import PlaceholderScreen


class ReviewScreen(PlaceholderScreen):
    """Empty state until the review queue lands."""

    TITLE = "Review"
    HEADLINE = "Review possibly defective joints"
    BODY = (
        "Joints the model is unsure about wait here with their explanation, for a "
        "verdict from the keyboard: D defect, F false call, S skip, Ctrl+Z undo."
    )
    FEATURES = (
        "Queue filtered by board, product, refdes and confidence",
        "Zoomable joint view with the critical-factor outline and heatmap",
        "Board overview with the current joint marked",
        "Counters: left on this board, left in queue, reviewed this shift",
    )
    ARRIVES = "Arrives with the review queue (issue 7)"
