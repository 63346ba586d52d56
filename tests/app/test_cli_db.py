"""`soldernet db upgrade|current`."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import pytest
from alembic import command

from app.commands import db as db_command
from app.commands import report as report_command
from db.engine import make_engine
from db.migrate import alembic_config, head_revision


def main(argv: list[str]) -> int:
    """Parse and run like `soldernet`, with only the subcommands under test.

    (`app.cli.main` builds every subcommand's parser, which today imports torch
    through `app.commands.train`; that costs ~10 s per test process.)
    """
    parser = argparse.ArgumentParser(prog="soldernet")
    sub = parser.add_subparsers(dest="command")
    db_command.add_parser(sub)
    report_command.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_upgrade_default_location_then_current(capsys: pytest.CaptureFixture[str]):
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"upgraded schema none -> {head_revision()}" in out
    assert "inspection.db" in out
    assert main(["db", "current"]) == 0
    assert (
        f"schema {head_revision()}; head {head_revision()}" in capsys.readouterr().out
    )
    assert main(["db", "upgrade"]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_upgrade_prints_backup_of_older_schema(
    db_path: Path, capsys: pytest.CaptureFixture[str]
):
    engine = make_engine(db_path)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    assert main(["db", "current", "--db", str(db_path)]) == 0
    assert "schema 0001" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert f"0001 -> {head_revision()}" in out
    assert f"backup: {db_path}.bak-0001-" in out


def test_errors_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    missing = tmp_path / "no" / "such.db"
    assert main(["db", "upgrade", "--db", str(missing)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert str(missing) in err
    assert "does not exist" in err

    newer = tmp_path / "newer.db"
    assert main(["db", "upgrade", "--db", str(newer)]) == 0
    with sqlite3.connect(newer) as con:
        con.execute("UPDATE alembic_version SET version_num = 'zz99'")
    capsys.readouterr()
    assert main(["db", "upgrade", "--db", str(newer)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert str(newer) in err
    assert "newer SolderNet Review" in err
