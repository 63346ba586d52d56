"""`soldernet synth joints|boards`: synthetic joint crops and whole boards."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `synth` subcommand."""
    p = sub.add_parser("synth", help="generate synthetic joints or boards with ground truth")
    p.add_argument("kind", choices=["joints", "boards"], help="what to render")
    p.add_argument("--out", required=True, help="output folder (manifest format)")
    p.add_argument("--n", type=int, default=100, help="how many items")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    p.add_argument("--style", default="mixed", help="imaging style")
    p.add_argument("--json", metavar="PATH", help="write a summary as JSON")
    p.set_defaults(handler=not_yet_available("synthetic data", "issue 3"))
