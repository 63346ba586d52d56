"""Inspect tab: ingest board images and run the SolderNet pipeline (later release)."""

from __future__ import annotations

from app.screens._placeholder import PlaceholderScreen


class InspectScreen(PlaceholderScreen):
    """Empty state until board inspection lands."""

    TITLE = "Inspect"
    HEADLINE = "Inspect boards"
    BODY = (
        "Add board images here: the joint detector finds every solder joint and the "
        "defect network sorts each one into defect, possible defect or no defect."
    )
    FEATURES = (
        "Add images by file dialog, drag and drop or a watched folder",
        "Product / recipe and board serial (typed or from the file name)",
        "Progress per board and overall, with cancel",
        "Per-board summary: joints found and joints per confidence region",
    )
    ARRIVES = "Arrives with board inspection (issue 6)"
