"""Login arguments shared by the subcommands that act as a user (no Qt, no torch)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys


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
