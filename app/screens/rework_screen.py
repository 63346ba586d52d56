"""Rework tab: the technician's repair list (later release)."""

from __future__ import annotations

from app.screens._placeholder import PlaceholderScreen


class ReworkScreen(PlaceholderScreen):
    """Empty state until the rework list lands."""

    TITLE = "Rework"
    HEADLINE = "Repair confirmed defects"
    BODY = (
        "Every confirmed defect and every joint in the defect region appears here, "
        "grouped by board and defect code, for the rework technician."
    )
    FEATURES = (
        "Board map with the joint highlighted, crop, explanation and inspector note",
        "Mark each item repaired, scrapped or not a defect",
        "Board complete: send it to re-inspection",
    )
    ARRIVES = "Arrives with the rework station (issue 7)"
