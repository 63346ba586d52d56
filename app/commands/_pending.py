"""Helper for subcommands whose capability arrives in a later issue."""

from __future__ import annotations

import argparse
import sys

from app.cli import EXIT_USAGE


def not_yet_available(what: str, issue: str) -> object:
    """Return a handler saying the subcommand is not built yet; it exits 2."""

    def handler(args: argparse.Namespace) -> int:
        print(
            f"soldernet {args.command}: {what} is not available in this version yet "
            f"(planned: {issue}).",
            file=sys.stderr,
        )
        return EXIT_USAGE

    return handler
