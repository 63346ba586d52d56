"""`soldernet export-verified`: operator-verified joints as a new dataset."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `export-verified` subcommand."""
    p = sub.add_parser("export-verified", help="operator-verified joints as a dataset")
    p.add_argument("--db", help="database file or URL")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    p.set_defaults(handler=not_yet_available("the verified-joint export", "issue 8"))
