"""`soldernet gui` (the default): the desktop application."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `gui` subcommand."""
    p = sub.add_parser("gui", help="the desktop review station (default)")
    p.add_argument("--db", help="database file or postgresql+psycopg:// URL")
    p.add_argument("--demo", action="store_true", help="open a demo database")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Start the Qt application (PySide6 is imported only here)."""
    from app.gui_main import run_gui

    return run_gui(args)
