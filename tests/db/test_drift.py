"""`DriftService`: window counts, reference windows, shift/board windows, alarms."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from db import Database, PermissionDeniedError
from db.models import AuditEntry, Inspection, VigilanceSeed
from db.services.drift import DEFAULT_REFERENCE_JOINTS, shift_windows
from inference.drift import ALARM, OK
from tests.db.conftest import People, joint

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def board(
    db: Database,
    serial: str,
    ps: list[float],
    when: datetime,
    *,
    version: str = "m-1",
) -> list[int]:
    """A finished inspection of `ps` (t_lo 0.2, t_hi 0.8) that finished at `when`."""
    dto = db.inspections.record_inspection(
        serial=serial,
        product="P1",
        image_path=f"/img/{serial}.png",
        image_sha256=hashlib.sha256(serial.encode()).hexdigest(),
        model_version=version,
        t_lo=0.2,
        t_hi=0.8,
        joints=[joint(p, f"R{i}") for i, p in enumerate(ps)],
    )
    with db.sessions.begin() as s:
        s.execute(
            update(Inspection)
            .where(Inspection.id == dto.id)
            .values(finished_at=when, started_at=when - timedelta(seconds=5))
        )
    return db.inspections.joint_ids(dto.id)


def test_window_counts_follow_the_report_definitions(
    database: Database, people: People
) -> None:
    ids = board(database, "B1", [0.15, 0.5, 0.65, 0.75, 0.9, 0.35, 0.55], T0)
    v = database.review
    alice, bob = people.alice, people.bob
    # 0.5: false call; the model says defect (p >= 0.5): a disagreement.
    v.record_verdict(ids[1], user=alice, verdict="false_call")
    # 0.65: confirmed defect; agrees.
    v.record_verdict(ids[2], user=alice, verdict="confirmed_defect")
    # 0.75: first a false call, corrected to a confirmed defect: only the head counts.
    first = v.record_verdict(ids[3], user=alice, verdict="false_call")
    v.correct_verdict(first.id, user=people.supervisor, verdict="confirmed_defect")
    # 0.35: skipped: not settled.
    v.record_verdict(ids[5], user=bob, verdict="skipped")
    # 0.55: process indicator: settled, not a false call, the inspector says "no".
    v.record_verdict(
        ids[6],
        user=bob,
        verdict="confirmed_defect",
        ipc_condition="process_indicator",
    )
    # A vigilance-seeded test joint (with a verdict) never counts.
    seeded = board(database, "B2", [0.45], T0 + timedelta(minutes=1))
    with database.sessions.begin() as s:
        s.add(VigilanceSeed(joint_id=seeded[0], is_defect=False, source="test"))
    v.record_verdict(seeded[0], user=alice, verdict="false_call")
    # Another model version and a window outside the period never count.
    board(database, "B3", [0.5], T0, version="m-2")
    board(database, "B4", [0.5], T0 + timedelta(days=1))

    c = database.drift.window_counts("m-1", T0, T0 + timedelta(hours=8))
    assert c.n_joints == 7
    assert c.n_boards == 1
    assert c.n_review_band == 5  # 0.5, 0.65, 0.75, 0.35, 0.55 (0.2 <= p < 0.8)
    assert c.n_settled == 4
    assert c.n_false_calls == 1
    assert c.n_disagreements == 2  # the 0.5 false call and the 0.55 indicator
    assert c.p_hist == (0, 1, 0, 1, 0, 2, 1, 1, 0, 1)
    assert sum(c.p_hist) == 7


def test_reference_default_set_and_audited(database: Database, people: People) -> None:
    assert database.drift.reference("m-1").start is None
    board(database, "A", [0.1] * 10, T0)
    board(database, "B", [0.1] * 10, T0 + timedelta(hours=1))
    ref = database.drift.reference("m-1")
    # Fewer than DEFAULT_REFERENCE_JOINTS joints: all of them.
    assert ref.is_default
    assert ref.start == T0
    assert ref.end is not None
    assert ref.end > T0 + timedelta(hours=1)
    assert str(DEFAULT_REFERENCE_JOINTS) in ref.note

    with pytest.raises(PermissionDeniedError):
        database.drift.set_reference(
            "m-1", T0, T0 + timedelta(hours=2), actor=people.alice
        )
    with pytest.raises(ValueError, match="empty"):
        database.drift.set_reference("m-1", T0, T0, actor=people.admin)
    set_ref = database.drift.set_reference(
        "m-1", T0, T0 + timedelta(minutes=30), actor=people.admin, note="new camera"
    )
    assert not set_ref.is_default
    assert set_ref.set_by == "admin"
    assert set_ref.note == "new camera"
    assert set_ref.end == T0 + timedelta(minutes=30)
    assert database.drift.reference("m-1") == set_ref
    assert database.drift.reference("m-2").start is None
    with database.read_sessions.begin() as s:
        audit = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "drift_reference_set")
        ).one()
        assert audit.details["model_version"] == "m-1"
        assert audit.details["note"] == "new camera"


def test_default_reference_stops_at_the_joint_budget(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("db.services.drift.DEFAULT_REFERENCE_JOINTS", 15)
    for i in range(4):
        board(database, f"S{i}", [0.2] * 10, T0 + timedelta(hours=i))
    ref = database.drift.reference("m-1")
    # 10 + 10 >= 15: the first two boards.
    assert ref.end == T0 + timedelta(hours=1, microseconds=1)


def test_shift_windows_are_local_eight_hour_shifts() -> None:
    now = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
    spans = shift_windows(now, 5)
    assert len(spans) == 5
    for (_l1, a1, b1), (_l2, a2, _b2) in itertools.pairwise(spans):
        assert b1 == a2
        assert b1 - a1 == timedelta(hours=8)
    assert all(a.astimezone().hour in (6, 14, 22) for _l, a, _b in spans)
    assert spans[-1][1] <= now < spans[-1][2]
    label, a, b = spans[-1]
    assert label == f"{a.astimezone():%Y-%m-%d %H:%M}–{b.astimezone():%H:%M}"
    twelve = shift_windows(now, 3, hours=12, first_start=time(7))
    assert all(a.astimezone().hour in (7, 19) for _l, a, _b in twelve)
    with pytest.raises(ValueError, match="divide"):
        shift_windows(now, 3, hours=7)


def _shift_start(now: datetime) -> datetime:
    return shift_windows(now, 1)[-1][1]


def test_report_alarms_on_a_review_band_jump(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default reference: the first 200 joints (the ten reference boards).
    monkeypatch.setattr("db.services.drift.DEFAULT_REFERENCE_JOINTS", 200)
    now = datetime(2026, 11, 29, 10, 30, tzinfo=UTC)
    start = _shift_start(now)
    # Reference: five shifts back, 10 boards of 20 joints, 2 per board in the band.
    ref_ps = [0.1] * 18 + [0.5, 0.5]
    first = start - timedelta(hours=40)
    for i in range(10):
        board(database, f"R{i}", ref_ps, first + timedelta(minutes=10 * i))
    # Quiet shifts in between, and a current shift with half the joints in the band.
    for k in range(1, 5):
        for i in range(3):
            board(
                database, f"Q{k}-{i}", ref_ps, first + timedelta(hours=8 * k, minutes=i)
            )
    for i in range(8):
        board(database, f"N{i}", [0.1] * 10 + [0.5] * 10, start + timedelta(minutes=i))

    report = database.drift.report("m-1", count=6, now=now)
    assert report.model_version == "m-1"
    assert report.reference is not None
    assert report.reference.is_default
    assert report.model is not None
    assert report.model.rates["review_band"] == pytest.approx(0.1)
    assert [w.stats.n_joints for w in report.windows] == [200, 60, 60, 60, 60, 160]
    newest = report.newest
    assert newest is not None
    assert newest.points["review_band"].status == ALARM
    assert newest.points["review_band"].value == pytest.approx(0.5)
    assert report.alarming
    assert report.windows[1].points["review_band"].status == OK
    assert not report.windows[1].alarms

    # The same 30 boards in windows of 5: the newest (the last 5) alarms.
    by_boards = database.drift.report("m-1", windows="boards", boards_per_window=5)
    assert [w.label for w in by_boards.windows][-1] == "boards 26–30"
    assert by_boards.windows[-1].stats.n_joints == 100
    assert len(by_boards.windows) == 6
    assert by_boards.alarming
    assert not by_boards.windows[0].alarms


def test_report_without_data(database: Database) -> None:
    report = database.drift.report()
    assert report.model_version is None
    assert report.windows == []
    assert not report.alarming
    board(database, "X", [0.1], T0)
    assert database.drift.default_model_version() == "m-1"
    with pytest.raises(ValueError, match="shift"):
        database.drift.report(windows="weeks")
