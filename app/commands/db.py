"""`soldernet db upgrade|current`: database schema management."""

from __future__ import annotations

import argparse
import sys

from app.cli import EXIT_FAILURE, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `db` subcommand."""
    p = sub.add_parser("db", help="database schema: upgrade (after a backup), current")
    p.add_argument("action", choices=["upgrade", "current"])
    p.add_argument("--db", help="database file or URL (default: from the settings)")
    p.set_defaults(handler=run)


def resolve_database(arg: str | None) -> tuple[str, bool]:
    """The database to use, and whether it is the default one (folder created)."""
    if arg:
        return arg, False
    from app.settings import load_settings

    settings = load_settings()
    return settings.database, not settings.db_url


def run(args: argparse.Namespace) -> int:
    """Run `soldernet db upgrade|current`; returns the exit code."""
    from pathlib import Path

    from db.engine import describe, sqlite_file, to_url
    from db.errors import DbError
    from db.migrate import current_revision, head_revision, upgrade_to_head

    target, is_default = resolve_database(args.db)
    url = to_url(target)
    try:
        if args.action == "current":
            rev = current_revision(url) or "none (empty)"
            print(f"{describe(url)}: schema {rev}; head {head_revision()}")
            return EXIT_OK
        path = sqlite_file(url)
        if is_default and path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        result = upgrade_to_head(url)
    except DbError as exc:
        print(f"soldernet db: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if result.upgraded:
        backup = result.backup_path or "none (database was empty)"
        print(
            f"{describe(url)}: upgraded schema {result.from_revision or 'none'} -> "
            f"{result.to_revision}; backup: {backup}"
        )
    else:
        print(f"{describe(url)}: schema {result.to_revision} is up to date")
    return EXIT_OK
