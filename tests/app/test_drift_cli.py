"""`soldernet drift`: table, JSON, exit codes and the audited reference window."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from app.cli import COMMANDS, EXIT_FAILURE, EXIT_OK
from app.commands import drift
from db import Database, JointRecord, Role, open_database
from inference.types import BBox

ADMIN_PIN, ENG_PIN, INSP_PIN = "1111", "2222", "3333"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    drift.add_parser(parser.add_subparsers())
    return drift.run(parser.parse_args(["drift", *argv]))


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("db.services.users.SCRYPT_N", 2**8)
    path = tmp_path / "inspection.db"
    with open_database(path) as db:
        admin = db.users.create_user("admin", Role.ADMIN, ADMIN_PIN, actor=None)
        db.users.create_user("erin", Role.ENGINEER, ENG_PIN, actor=admin)
        db.users.create_user("ivan", Role.INSPECTOR, INSP_PIN, actor=admin)
        for i in range(3):
            _board(db, f"B{i}", [0.1] * 30 + [0.5] * 10)
    return path


def _board(db: Database, serial: str, ps: list[float]) -> None:
    db.inspections.record_inspection(
        serial=serial,
        product="P1",
        image_path=f"/img/{serial}.png",
        image_sha256=hashlib.sha256(serial.encode()).hexdigest(),
        model_version="m-1",
        t_lo=0.2,
        t_hi=0.8,
        joints=[JointRecord(BBox(i, 0, 4, 4), p) for i, p in enumerate(ps)],
    )


def test_registered_in_the_command_table() -> None:
    assert COMMANDS["drift"] == "drift"


def test_table_and_json_without_alarm(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "drift.json"
    code = _run(["--db", str(db_file), "--count", "3", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "model m-1" in out
    assert "reference window:" in out
    assert "(default; 120 joints, 3 boards)" in out
    data = json.loads(out_json.read_text())
    assert data["model_version"] == "m-1"
    assert data["reference"]["is_default"] is True
    assert data["reference"]["rates"]["review_band"] == pytest.approx(0.25)
    assert len(data["windows"]) == 3
    newest = data["windows"][-1]
    assert newest["n_joints"] == 120
    assert newest["points"]["review_band"]["status"] == "ok"
    assert data["alarms"] == []
    # --json - prints only the JSON.
    assert _run(["--db", str(db_file), "--json", "-", "--count", "2"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["window_kind"] == "shift"


def test_set_reference_needs_an_engineer_and_is_audited(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = ["--set-reference", "2026-01-01", "2026-01-02", "--note", "new camera"]
    monkeypatch.setenv("SOLDERNET_PIN", INSP_PIN)
    assert _run(["--db", str(db_file), *ref, "--user", "ivan"]) == EXIT_FAILURE
    assert "refused" in capsys.readouterr().err
    assert _run(["--db", str(db_file), *ref]) == EXIT_FAILURE
    assert "needs --user" in capsys.readouterr().err
    monkeypatch.setenv("SOLDERNET_PIN", ENG_PIN)
    # The new reference (1-2 January) holds no joints: nothing can be charted.
    assert _run(["--db", str(db_file), *ref, "--user", "erin"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "reference of m-1 set to 2026-01-01T00:00:00+00:00 .. " in out
    assert "2026-01-03T00:00:00+00:00" in out  # --to style: the whole last day
    assert "reference window: none" in out
    with open_database(db_file) as db:
        ref_dto = db.drift.reference("m-1")
        assert ref_dto.set_by == "erin"
        assert ref_dto.note == "new camera"
        actions = [e.action for e in db.audit.entries()]
        assert "drift_reference_set" in actions


def test_empty_database_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    assert _run(["--db", str(empty)]) == EXIT_OK
    assert "nothing to chart" in capsys.readouterr().out
    assert _run(["--db", str(empty), "--shift-hours", "7"]) == EXIT_FAILURE
    assert "divide" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(["--shift-start", "25:00"])
