"""`soldernet train`: train a defect classifier."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `train` subcommand."""
    p = sub.add_parser("train", help="train a classifier on one or more datasets")
    p.add_argument("--data", nargs="+", required=True, help="dataset folders (manifest.csv)")
    p.add_argument("--arch", default="attend_next_s", help="architecture")
    p.add_argument("--epochs", type=int, default=10, help="fine-tune epochs")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--from", dest="from_model", help="fine-tune a registered model")
    p.add_argument("--json", metavar="PATH", help="write the training summary as JSON")
    p.set_defaults(handler=not_yet_available("training", "issue 4"))
