"""`soldernet report`: export a shift or date-range report."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `report` subcommand."""
    p = sub.add_parser("report", help="export a shift or date-range report (CSV, XLSX)")
    p.add_argument("--db", help="database file or URL")
    p.add_argument("--out", required=True, help="output file (.csv or .xlsx)")
    p.set_defaults(handler=not_yet_available("report", "issue 2"))
