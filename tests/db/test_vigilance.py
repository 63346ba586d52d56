"""Vigilance seeds: scores, reveal, and that seeds never reach rework or the report."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db import (
    Database,
    DefectCode,
    JointRecord,
    PermissionDeniedError,
    Region,
    ReviewItem,
    UserDTO,
    VerdictKind,
    open_database,
)
from db.base import utcnow
from db.models import AuditEntry
from db.services.vigilance import CORRECT_REJECTION, HIT, MISS, d_prime
from inference.types import BBox, JointType
from tests.db.conftest import People, inspect

DEFECT = VerdictKind.CONFIRMED_DEFECT
FALSE_CALL = VerdictKind.FALSE_CALL
SKIP = VerdictKind.SKIPPED


def _seed(
    db: Database, inspection_id: int, *, is_defect: bool, p: float = 0.5, n: int = 0
) -> int:
    return db.vigilance.add_seed(
        inspection_id,
        JointRecord(
            bbox=BBox(10, 20, 30, 40),
            p=p,
            refdes=f"C{n}",
            pin="2",
            joint_type=JointType.SMD,
            package="0603",
            crop_path=f"/crops/joint_{90 + n:04d}.png",
            region=Region.POSSIBLE_DEFECT,
        ),
        is_defect=is_defect,
        defect_code=DefectCode.BRIDGE if is_defect else None,
        source=f"lib/manifest.csv:{n + 2}",
    )


def _give(db: Database, joint_id: int, user: UserDTO, kind: VerdictKind) -> Any:
    code = DefectCode.BRIDGE if kind is DEFECT else None
    return db.review.record_verdict(
        joint_id, user=user, verdict=kind, defect_code=code, seconds_spent=4.0
    )


def _queue_ids(db: Database) -> list[int]:
    return [i.joint_id for i in db.review.queue()]


def test_seed_is_queued_like_any_joint_and_carries_no_flag(
    database: Database, people: People
) -> None:
    insp = inspect(database, "B1", [0.5, 0.6, 0.05])
    seed = _seed(database, insp.id, is_defect=True, p=0.55)
    items = {i.joint_id: i for i in database.review.queue()}
    assert seed in items
    item = items[seed]
    # The queue item DTO has no field that could tell a seed apart.
    names = {f.name for f in dataclasses.fields(ReviewItem)}
    assert not {n for n in names if "seed" in n or "vigil" in n}
    assert item.region is Region.POSSIBLE_DEFECT
    assert item.p == pytest.approx(0.55)
    assert item.board_serial == "B1"
    assert "seed" not in item.crop_path
    assert "vigil" not in item.crop_path
    assert item.model_version == items[min(items)].model_version
    # Seeds do not count in the board's production counts.
    counts = database.inspections.get_inspection(insp.id)
    assert (counts.n_joints, counts.n_possible_defect) == (3, 2)


def test_confirmed_seed_never_reaches_rework(
    database: Database, people: People
) -> None:
    insp = inspect(database, "B1", [0.5])
    real = database.inspections.joint_ids(insp.id)[0]
    seed = _seed(database, insp.id, is_defect=True)
    _give(database, real, people.alice, DEFECT)
    v = _give(database, seed, people.alice, DEFECT)
    assert [r.joint_id for r in database.rework.items()] == [real]
    # A correction to false call and back, and an undo: still nothing.
    v2 = database.review.correct_verdict(v.id, user=people.alice, verdict=FALSE_CALL)
    database.review.correct_verdict(
        v2.id, user=people.alice, verdict=DEFECT, defect_code="bridge"
    )
    assert [r.joint_id for r in database.rework.items()] == [real]
    database.review.undo_last(people.alice)
    assert seed in _queue_ids(database)
    assert [r.joint_id for r in database.rework.items()] == [real]


def _scenario(db: Database, people: People, *, seeds: bool) -> None:
    """The same production work, with or without seeds (and verdicts on them)."""
    a = inspect(db, "B1", [0.5, 0.6, 0.95, 0.05], user=people.alice)
    b = inspect(db, "B2", [0.4, 0.3, 0.02], user=people.alice)
    ja = db.inspections.joint_ids(a.id)
    jb = db.inspections.joint_ids(b.id)
    if seeds:
        sa = _seed(db, a.id, is_defect=True, n=1)
        sg = _seed(db, a.id, is_defect=False, n=2)
        sb = _seed(db, b.id, is_defect=True, n=3)
        _seed(db, b.id, is_defect=False, n=4)  # stays in the queue
        _give(db, sa, people.alice, DEFECT)
        _give(db, sg, people.bob, DEFECT)  # a false alarm
        _give(db, sb, people.bob, FALSE_CALL)  # a miss
    _give(db, ja[0], people.alice, DEFECT)
    _give(db, ja[1], people.alice, FALSE_CALL)
    _give(db, jb[0], people.bob, SKIP)


def _numbers(report: Any) -> dict[str, Any]:
    out = dataclasses.asdict(report)
    for key in ("period_start", "period_end", "generated_at", "generated_by"):
        out.pop(key)
    return out


def test_report_figures_equal_with_and_without_seeds(
    database: Database, people: People, tmp_path: Path
) -> None:
    _scenario(database, people, seeds=True)
    with open_database(tmp_path / "plain.db") as plain:
        plain_people = People(plain)
        _scenario(plain, plain_people, seeds=False)
        start = utcnow() - timedelta(hours=1)
        seeded_report = database.reports.shift_report(
            actor=people.supervisor, start=start
        )
        plain_report = plain.reports.shift_report(
            actor=plain_people.supervisor, start=start
        )
        assert _numbers(seeded_report) == _numbers(plain_report)
        assert seeded_report.joints_inspected == 7
        assert seeded_report.confirmed_defects == 1
        assert [r.user_name for r in seeded_report.per_inspector] == ["alice", "bob"]
        assert seeded_report.per_inspector[1].verdicts == 1  # bob's skip only
        # The model what-if pairs leave seeds out too; the work counter does not.
        assert database.review.verdict_outcomes() == plain.review.verdict_outcomes()
        assert database.review.count_verdicts(user_id=people.bob.id) == 3
        assert plain.review.count_verdicts(user_id=plain_people.bob.id) == 1


def test_scores_hand_counted_by_current_verdict(
    database: Database, people: People
) -> None:
    insp = inspect(database, "B1", [0.5])
    d = [_seed(database, insp.id, is_defect=True, n=i) for i in range(4)]
    g = [_seed(database, insp.id, is_defect=False, n=10 + i) for i in range(4)]
    # alice: d0 hit, d1 miss (then sue corrects it: sue's hit), g0 correct
    # rejection, g1 false alarm.
    _give(database, d[0], people.alice, DEFECT)
    miss = _give(database, d[1], people.alice, FALSE_CALL)
    _give(database, g[0], people.alice, FALSE_CALL)
    _give(database, g[1], people.alice, DEFECT)
    database.review.correct_verdict(
        miss.id, user=people.supervisor, verdict=DEFECT, defect_code="bridge"
    )
    # bob: d2 miss corrected by himself to a hit (changed), g2 skipped, d3 miss.
    v = _give(database, d[2], people.bob, FALSE_CALL)
    database.review.correct_verdict(
        v.id, user=people.bob, verdict=DEFECT, defect_code="bridge"
    )
    _give(database, g[2], people.bob, SKIP)
    _give(database, d[3], people.bob, FALSE_CALL)
    # g3 gets a verdict that is undone: not scored, waits in the queue again.
    _give(database, g[3], people.alice, FALSE_CALL)
    database.review.undo_last(people.alice)

    scores = database.vigilance.scores(actor=people.supervisor)
    rows = {r.user_name: r for r in scores.inspectors}
    assert set(rows) == {"alice", "bob", "sue"}
    alice, bob, sue = rows["alice"], rows["bob"], rows["sue"]
    assert (alice.seeds, alice.hits, alice.misses) == (3, 1, 0)
    assert (alice.false_alarms, alice.correct_rejections) == (1, 1)
    assert alice.hit_rate == 1.0
    assert alice.false_alarm_rate == 0.5
    assert (bob.seeds, bob.hits, bob.misses, bob.skipped) == (3, 1, 1, 1)
    assert bob.changed == 1
    assert bob.hit_rate == 0.5
    assert bob.false_alarm_rate is None
    assert bob.d_prime is None
    assert (sue.seeds, sue.hits, sue.changed) == (1, 1, 1)
    t = scores.total
    assert (t.seeds, t.hits, t.misses, t.false_alarms, t.correct_rejections) == (
        7,
        3,
        1,
        1,
        1,
    )
    assert (t.known_defect, t.known_good, t.skipped) == (4, 3, 1)
    assert scores.seeds_waiting == 1
    # d' with the log-linear correction: H = 3.5/5, F = 1.5/3.
    assert t.d_prime == pytest.approx(d_prime(3, 1, 1, 1))
    assert d_prime(3, 1, 1, 1) == pytest.approx(0.5244005, abs=1e-6)
    assert math.isfinite(alice.d_prime or math.nan)
    # A period before any verdict: nothing.
    empty = database.vigilance.scores(
        actor=people.admin, end=utcnow() - timedelta(days=1)
    )
    assert empty.inspectors == []
    assert empty.to_dict()["total"]["seeds"] == 0


def test_reveal_only_after_the_verdict(database: Database, people: People) -> None:
    insp = inspect(database, "B1", [0.5])
    real = database.inspections.joint_ids(insp.id)[0]
    defect = _seed(database, insp.id, is_defect=True)
    good = _seed(database, insp.id, is_defect=False, n=1)
    assert database.vigilance.reveal(defect) is None  # no verdict yet
    assert database.vigilance.reveal(real) is None
    _give(database, real, people.alice, DEFECT)
    assert database.vigilance.reveal(real) is None  # ordinary joints: never
    _give(database, defect, people.alice, FALSE_CALL)
    r = database.vigilance.reveal(defect)
    assert r is not None
    assert (r.is_defect, r.outcome, r.defect_code) == (True, MISS, DefectCode.BRIDGE)
    assert "known defect" in r.message
    assert "miss" in r.message
    database.review.undo_last(people.alice)
    assert database.vigilance.reveal(defect) is None  # undone: back to secret
    _give(database, defect, people.alice, DEFECT)
    assert database.vigilance.reveal(defect).outcome == HIT  # type: ignore[union-attr]
    _give(database, good, people.bob, FALSE_CALL)
    assert database.vigilance.reveal(good).outcome == CORRECT_REJECTION  # type: ignore[union-attr]


def test_inspector_asking_for_scores_is_refused_and_audited(
    database: Database, people: People
) -> None:
    for who in (people.alice, people.tech):
        with pytest.raises(PermissionDeniedError, match="may not see vigilance"):
            database.vigilance.scores(actor=who)
    with database.sessions() as s:
        denied = s.scalars(
            select(AuditEntry.user_id).where(AuditEntry.action == "vigilance_denied")
        ).all()
    assert sorted(denied) == sorted([people.alice.id, people.tech.id])
    for who in (people.supervisor, people.admin):
        assert database.vigilance.scores(actor=who).inspectors == []


def test_reference_joint_never_picks_a_seed(database: Database, people: People) -> None:
    insp = inspect(database, "B1", [0.5, 0.3])
    real = database.inspections.joint_ids(insp.id)[0]
    seed = database.vigilance.add_seed(
        insp.id,
        JointRecord(
            bbox=BBox(1, 2, 3, 4),
            p=0.0,
            crop_path="/crops/joint_0009.png",
            region=Region.NON_DEFECT,  # forced to possible_defect anyway
        ),
        is_defect=False,
    )
    assert database.review.item(seed).region is Region.POSSIBLE_DEFECT
    ref = database.review.reference_joint(real)
    assert ref is None or ref.joint_id != seed


def test_add_seed_validates(database: Database, people: People) -> None:
    insp = inspect(database, "B1", [0.5])
    with pytest.raises(ValueError, match="seed p"):
        database.vigilance.add_seed(
            insp.id, JointRecord(bbox=BBox(1, 2, 3, 4), p=1.5), is_defect=True
        )
    assert database.vigilance.seed_count() == 0
