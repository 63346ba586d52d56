"""`soldernet inspect`: run boards headless into the database."""

from __future__ import annotations

import argparse

from app.commands._pending import not_yet_available


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `inspect` subcommand."""
    p = sub.add_parser("inspect", help="inspect board images into the database")
    p.add_argument("images", nargs="*", help="board images")
    p.add_argument("--recipe", help="board recipe JSON")
    p.add_argument("--db", help="database file or URL")
    p.add_argument("--watch", metavar="DIR", help="keep inspecting new files in DIR")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    p.set_defaults(handler=not_yet_available("board inspection", "issue 6"))
