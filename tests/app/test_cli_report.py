"""`soldernet report` and the pure report writers."""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from app.commands import db as db_command
from app.commands import report as report_command
from app.reports import write_csv, write_json, write_xlsx
from app.reports import writers as writers_mod
from db import InspectorRow, JointRecord, Role, ShiftReport, open_database
from inference.types import BBox

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


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


def _report() -> ShiftReport:
    return ShiftReport(
        period_start=T0,
        period_end=T1,
        shift_id=3,
        boards_inspected=4,
        joints_inspected=15,
        calls=9,
        reviewed=7,
        confirmed_defects=4,
        false_calls=3,
        process_indicators=1,
        skipped=1,
        pending_calls=2,
        false_call_ppm=200000.0,
        false_call_ratio=1 / 3,
        model_escapes=1,
        operator_escapes=1,
        model_escape_ppm=66666.7,
        operator_escape_ppm=66666.7,
        dpmo=266666.7,
        fpy=0.25,
        review_seconds_total=30.0,
        review_seconds_per_call=30 / 7,
        calls_per_board=2.25,
        operator_model_agreement=None,
        pareto_by_code=[("bridge", 2), ("cold_joint", 1)],
        pareto_by_refdes=[("R1", 2), ("Q1", 1)],
        per_inspector=[
            InspectorRow("alice", 3, 1, 2, 0, 0, 19.0, 19 / 3, 2 / 3),
        ],
        generated_at=T1,
        generated_by="sue",
    )


def test_csv_is_long_format_and_complete(tmp_path: Path):
    path = write_csv(_report(), tmp_path / "r.csv")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    summary = {r["metric"]: r["value"] for r in rows if r["section"] == "summary"}
    assert summary["joints_inspected"] == "15"
    assert summary["period_start"] == "2026-11-28T06:00:00+00:00"
    assert summary["operator_model_agreement"] == ""  # None -> empty
    codes = [(r["item"], r["value"]) for r in rows if r["section"] == "pareto_by_code"]
    assert codes == [("bridge", "2"), ("cold_joint", "1")]
    alice = {r["metric"]: r["value"] for r in rows if r["item"] == "alice"}
    assert alice["false_calls"] == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]  # no temp file left


def test_xlsx_has_summary_and_pareto_sheets(tmp_path: Path):
    path = write_xlsx(_report(), tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        "Summary",
        "Pareto by code",
        "Pareto by refdes",
        "Inspectors",
    ]
    summary = {
        row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, values_only=True)
    }
    assert summary["Joints inspected (opportunities)"] == 15
    assert summary["Period start (UTC)"] == datetime(2026, 11, 28, 6, 0)
    assert summary["First-pass yield"] == 0.25
    pareto = list(wb["Pareto by code"].iter_rows(min_row=2, values_only=True))
    assert pareto == [("bridge", 2, 2 / 3), ("cold_joint", 1, 1.0)]
    inspectors = list(wb["Inspectors"].iter_rows(values_only=True))
    assert inspectors[1][:4] == ("alice", 3, 1, 2)


def test_json_round_trips(tmp_path: Path):
    data = json.loads(write_json(_report(), tmp_path / "r.json").read_text())
    assert data["dpmo"] == 266666.7
    assert data["pareto_by_refdes"] == [
        ["R1", 2],
        ["Q1", 1],
    ]
    assert data["per_inspector"][0]["user_name"] == "alice"


def test_failed_export_leaves_previous_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"previous export")

    def boom(self, filename):
        Path(filename).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", boom)
    with pytest.raises(OSError, match="No space"):
        writers_mod.write_xlsx(_report(), target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]


@pytest.fixture
def filled_db(db_path: Path) -> Path:
    with open_database(db_path) as db:
        admin = db.users.create_user("admin", Role.ADMIN, "123456", actor=None)
        db.users.create_user("sue", Role.SUPERVISOR, "2468", actor=admin)
        alice = db.users.create_user("alice", Role.INSPECTOR, "1357", actor=admin)
        db.inspections.record_inspection(
            serial="B1",
            product="P1",
            image_path="/b.png",
            image_sha256="0" * 64,
            model_version="m",
            t_lo=0.2,
            t_hi=0.8,
            joints=[
                JointRecord(BBox(0, 0, 5, 5), p, refdes=f"R{i}")
                for i, p in enumerate([0.9, 0.5, 0.1])
            ],
        )
        (item,) = db.review.queue()
        db.review.record_verdict(item.joint_id, user=alice, verdict="false_call")
    return db_path


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_report_export_succeeds_for_supervisor(
    filled_db: Path,
    tmp_path: Path,
    suffix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("SOLDERNET_PIN", "2468")
    out = tmp_path / f"shift{suffix}"
    js = tmp_path / "figures.json"
    code = main(
        [
            "report",
            "--db",
            str(filled_db),
            "--out",
            str(out),
            "--from",
            _today(),
            "--to",
            _today(),
            "--user",
            "sue",
            "--json",
            str(js),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    line = captured.out.strip()
    assert line.count("\n") == 0
    assert "1 boards, 3 joints, 2 calls, 0 confirmed defects, 1 false calls" in line
    assert out.exists()
    assert json.loads(js.read_text())["false_calls"] == 1
    with open_database(filled_db) as db:
        assert db.audit.entries(action="report_exported")[0].user_name == "sue"


def test_inspector_is_refused(
    filled_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "r.csv"
    code = main(
        [
            "report",
            "--db",
            str(filled_db),
            "--out",
            str(out),
            "--from",
            _today(),
            "--user",
            "alice",
            "--pin",
            "1357",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "refused" in err
    assert "alice (inspector) may not export reports" in err
    assert not out.exists()
    with open_database(filled_db) as db:
        assert db.audit.entries(action="report_denied")


def test_wrong_pin_and_bad_arguments(
    filled_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    base = ["report", "--db", str(filled_db), "--from", _today(), "--user", "sue"]
    assert main([*base, "--out", str(tmp_path / "r.csv"), "--pin", "0000"]) == 1
    err = capsys.readouterr().err
    assert "wrong user name or PIN" in err
    assert "0000" not in err
    assert main([*base, "--out", str(tmp_path / "r.txt"), "--pin", "2468"]) == 1
    assert "use a .csv, .xlsx or .pdf" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert main([*base, "--out", str(tmp_path / "r.csv")]) == 1
    assert "no PIN given" in capsys.readouterr().err


def test_newer_schema_is_reported_clearly(
    filled_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    import sqlite3

    with sqlite3.connect(filled_db) as con:
        con.execute("UPDATE alembic_version SET version_num = 'zz99'")
    code = main(
        [
            "report",
            "--db",
            str(filled_db),
            "--out",
            str(tmp_path / "r.csv"),
            "--shift",
            "1",
            "--user",
            "sue",
            "--pin",
            "2468",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert str(filled_db) in err
    assert "newer SolderNet Review (schema zz99)" in err


def test_locked_and_read_only_databases_give_one_clear_line(
    filled_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    import os
    import sqlite3

    argv = [
        "report", "--db", str(filled_db), "--out", str(tmp_path / "r.csv"),
        "--from", _today(), "--user", "sue", "--pin", "2468",
    ]  # fmt: skip
    monkeypatch.setattr("db.engine.BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr("db.retry.FIRST_DELAY_S", 0.01)
    monkeypatch.setattr("db.retry.ATTEMPTS", 2)
    other = sqlite3.connect(filled_db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        assert main(argv) == 1
    finally:
        other.close()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"database {filled_db} is locked by another program" in err

    # As root chmod does not stop writes: make os.access report the folder read-only.
    real_access = os.access
    folder = filled_db.parent

    def no_write(path, mode, **kw):
        if Path(path) == folder and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", no_write)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"the folder {folder} is read-only" in err
