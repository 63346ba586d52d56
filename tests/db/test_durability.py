"""Crash safety and multi-process writing on a real SQLite file."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import Database, JointRecord, open_database
from db.models import Verdict
from inference.types import BBox
from tests.db.conftest import PIN, People

WORKER = Path(__file__).with_name("_verdict_worker.py")
REPO = Path(__file__).resolve().parents[2]


def _possible_joints(db: Database, n: int) -> list[int]:
    joints = [
        JointRecord(bbox=BBox(i, 0, 8, 8), p=0.5, refdes=f"R{i}", pin="1")
        for i in range(n)
    ]
    db.inspections.record_inspection(
        serial="B1",
        product="P1",
        image_path="/b.png",
        image_sha256="0" * 64,
        model_version="m",
        t_lo=0.2,
        t_hi=0.8,
        joints=joints,
    )
    return [item.joint_id for item in db.review.queue()]


def _spawn(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


@pytest.mark.slow
def test_verdict_survives_sigkill(db_path: Path):
    with open_database(db_path) as db:
        People(db)
        ids = _possible_joints(db, 200)
    with _spawn("kill", db_path, "alice", PIN, *ids) as proc:
        line = proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)  # right after the call returned
        proc.wait(timeout=10)
        err = proc.stderr.read()
    assert line.strip() == "ok", err
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(db_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_database(db_path) as db:
        v = db.review.current_verdict(ids[0])
        assert v is not None
        assert v.note == "killed"
        assert v.user_name == "alice"


@pytest.mark.slow
def test_two_processes_write_at_once(db_path: Path):
    with open_database(db_path) as db:
        People(db)
        ids = _possible_joints(db, 1200)
    halves = {"alice": ids[0::2], "bob": ids[1::2]}
    with contextlib.ExitStack() as stack:
        procs = {
            name: stack.enter_context(_spawn("race", db_path, name, PIN, 3.0, *js))
            for name, js in halves.items()
        }
        for p in procs.values():
            assert p.stdout.readline().strip() == "ready"
        for p in procs.values():
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = {name: p.communicate(timeout=60) for name, p in procs.items()}
    recorded: list[int] = []
    for name, (out, err) in outputs.items():
        assert procs[name].returncode == 0, err
        assert "locked" not in out + err
        assert "Traceback" not in err
        lines = out.split()
        assert lines[-1] == "done"
        recorded += [int(x) for x in out.split() if x.isdigit()]
    assert len(recorded) == len(set(recorded)) > 20, len(recorded)
    with open_database(db_path) as db, db.sessions.begin() as s:
        rows = s.execute(
            select(Verdict.joint_id, func.count()).group_by(Verdict.joint_id)
        ).all()
    assert dict(rows) == dict.fromkeys(recorded, 1)
