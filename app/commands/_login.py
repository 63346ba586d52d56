"""Login arguments shared by the subcommands that act as a user (no Qt, no torch)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def add_login_arguments(p: argparse.ArgumentParser) -> None:
    """Add `--user` and `--pin` (the PIN may also come from $SOLDERNET_PIN)."""
    p.add_argument("--user", required=True, help="your user name")
    p.add_argument("--pin", help="your PIN (prefer $SOLDERNET_PIN: argv is visible)")


def read_pin(args: argparse.Namespace) -> str | None:
    """The PIN from `--pin`, $SOLDERNET_PIN or a prompt on a terminal (else None)."""
    if getattr(args, "pin", None):
        return str(args.pin)
    env = os.environ.get("SOLDERNET_PIN")
    if env:
        return env
    if sys.stdin.isatty():
        return getpass.getpass(f"PIN for {args.user}: ")
    return None


def call_as_user(
    args: argparse.Namespace, prog: str, work: Callable[[Any, Any], T]
) -> tuple[bool, T | None]:
    """Open the database, log `--user` in and run ``work(db, user)``.

    Prints one line on stderr for a missing PIN, a failed login, a refusal or a
    database error (each naming `prog`).

    Returns:
        ``(True, result)``, or ``(False, None)`` after printing the problem.
    """
    from app.commands.db import resolve_database
    from db import AuthenticationError, DbError, PermissionDeniedError, open_database

    pin = read_pin(args)
    if not pin:
        print(f"{prog}: no PIN given (use $SOLDERNET_PIN or --pin)", file=sys.stderr)
        return False, None
    target, is_default = resolve_database(args.db)
    try:
        with open_database(target, create_folder=is_default) as db:
            user = db.users.authenticate(args.user, pin)
            return True, work(db, user)
    except PermissionDeniedError as exc:
        print(f"{prog}: refused: {exc}", file=sys.stderr)
    except (AuthenticationError, DbError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    return False, None
