"""`soldernet evaluate`: metrics of a model on a dataset."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `evaluate` subcommand."""
    p = sub.add_parser("evaluate", help="accuracy, overkill, escape, trust, latency of a model")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--data", required=True, help="dataset folder (manifest.csv)")
    p.add_argument("--json", metavar="PATH", help="write the metrics as JSON")
    p.set_defaults(handler=not_yet_available("evaluation", "issue 4"))
