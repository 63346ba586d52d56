"""The `soldernet` command line: one parser, one module per subcommand.

Every subcommand lives in `app/commands/<name>.py` and exposes
`add_parser(subparsers)` and `run(args) -> int`. This module imports no Qt:
only `gui` loads PySide6, and only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from app import __version__

# Subcommand name -> module in app.commands (product.md §7), in help order.
COMMANDS: dict[str, str] = {
    "gui": "gui",
    "synth": "synth",
    "train": "train",
    "evaluate": "evaluate",
    "calibrate": "calibrate",
    "compare": "compare",
    "explain": "explain",
    "xai-eval": "xai_eval",
    "soxai": "soxai",
    "inspect": "inspect",
    "report": "report",
    "export-verified": "export_verified",
    "vigilance": "vigilance",
    "models": "models",
    "drift": "drift",
    "db": "db",
    "detector": "detector",
}

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the full `soldernet` argument parser."""
    parser = argparse.ArgumentParser(
        prog="soldernet",
        description=(
            "SolderNet Review: explainable solder-joint inspection. "
            "Without a subcommand the desktop app starts."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        module = importlib.import_module(f"app.commands.{module_name}")
        module.add_parser(sub)
    return parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity >= 2:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `soldernet` command; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list or (
        args_list[0].startswith("-")
        and args_list[0]
        not in {
            "-h",
            "--help",
            "--version",
            "-v",
            "-vv",
            "--verbose",
        }
    ):
        args_list = ["gui", *args_list]
    args = parser.parse_args(args_list)
    if args.command is None:
        args = parser.parse_args([*args_list, "gui"])
    _configure_logging(args.verbose)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
