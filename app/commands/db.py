"""`soldernet db upgrade|current`: database schema management."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `db` subcommand."""
    p = sub.add_parser("db", help="database schema: upgrade (after a backup), current")
    p.add_argument("action", choices=["upgrade", "current"])
    p.add_argument("--db", help="database file or URL")
    p.set_defaults(handler=not_yet_available("db", "issue 2"))
