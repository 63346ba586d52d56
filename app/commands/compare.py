"""`soldernet compare`: the paper's Tables 1 and 2 for several architectures."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `compare` subcommand."""
    p = sub.add_parser("compare", help="Tables 1 and 2 for several architectures on one split")
    p.add_argument("--data", nargs="+", required=True, help="dataset folders")
    p.add_argument("--archs", nargs="+", help="architectures to compare")
    p.add_argument("--epochs", type=int, default=5, help="fine-tune epochs per architecture")
    p.add_argument("--out", required=True, help="output folder (Markdown + JSON)")
    p.add_argument("--json", metavar="PATH", help="write the tables as JSON")
    p.set_defaults(handler=not_yet_available("architecture comparison", "issue 4"))
