"""`soldernet xai-eval`: impact score, coverage and localisation of explainers."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `xai-eval` subcommand."""
    p = sub.add_parser("xai-eval", help="impact score, coverage, localisation")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="dataset folder (manifest.csv, masks)")
    p.add_argument("--json", metavar="PATH", help="write the metrics as JSON")
    p.set_defaults(handler=not_yet_available("explainer evaluation", "issue 5"))
