"""`soldernet explain`: critical-factor explanations for images."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `explain` subcommand."""
    p = sub.add_parser("explain", help="explanation overlays (PNG) and numbers")
    p.add_argument("images", nargs="+", help="joint images")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", metavar="PATH", help="write the numbers as JSON")
    p.set_defaults(handler=not_yet_available("explanations", "issue 5"))
