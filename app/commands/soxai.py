"""`soldernet soxai`: the second-order explanation map of a dataset."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `soxai` subcommand."""
    p = sub.add_parser("soxai", help="second-order explainability map of a dataset")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="dataset folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", metavar="PATH", help="write groups and positions as JSON")
    p.set_defaults(handler=not_yet_available("SOXAI", "issue 5"))
