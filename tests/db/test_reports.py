"""Shift report figures against a hand-computed data set, and who may see them."""

from __future__ import annotations

import pytest

from db import Database, PermissionDeniedError, ReviewFilter
from db.base import utcnow
from tests.db.conftest import People, inspect


def _joint_id(db: Database, serial: str, refdes: str) -> int:
    from sqlalchemy import select

    from db.models import Board, Joint

    with db.sessions.begin() as s:
        return s.scalars(
            select(Joint.id)
            .join(Board, Joint.board_id == Board.id)
            .where(Board.serial == serial, Joint.refdes == refdes)
            .order_by(Joint.id.desc())
        ).first()


def _build(db: Database, pp: People):
    """The fixed data set (thresholds t_lo=0.2, t_hi=0.8; '->' = outcome).

    B0 (before the period: must not count)
    B1: R1 0.90 defect region, technician repaired   -> defect (uncoded)
        R2 0.60 alice confirmed bridge, 10 s         -> defect
        R3 0.40 alice false call, 6 s                -> false call
        R4 0.10, R5 0.05 non-defect                  -> nothing
    B2: R1 0.70 bob false call 4 s, corrected by sue to cold_joint 8 s
                                                     -> defect, operator escape
        C1 0.30 bob confirmed, process indicator 2 s -> process indicator
        C2 0.50 bob skipped 1 s                      -> skipped (pending)
        U1 0.85 defect region, tech not_a_defect     -> false call
        U2 0.10 non-defect                           -> nothing
    B3: R1 0.25 alice false call 5 s, then undone    -> pending
        R2 0.55 alice false call 3 s                 -> false call
        R3 0.02 non-defect                           -> nothing
    B4: Q2 0.01 non-defect                           -> nothing
        Q1 0.03 non-defect, sue confirmed bridge (found later, no time)
                                                     -> defect, model escape
    """
    inspect(db, "B0", [0.5, 0.9])
    start = utcnow()
    inspect(
        db, "B1", [(0.9, "R1"), (0.6, "R2"), (0.4, "R3"), (0.1, "R4"), (0.05, "R5")]
    )
    inspect(
        db, "B2", [(0.7, "R1"), (0.3, "C1"), (0.5, "C2"), (0.85, "U1"), (0.1, "U2")]
    )
    inspect(db, "B3", [(0.25, "R1"), (0.55, "R2"), (0.02, "R3")])
    inspect(db, "B4", [(0.01, "Q2"), (0.03, "Q1")])
    rv = db.review
    j = lambda serial, refdes: _joint_id(db, serial, refdes)  # noqa: E731
    rv.record_verdict(
        j("B1", "R2"),
        user=pp.alice,
        verdict="confirmed_defect",
        defect_code="bridge",
        seconds_spent=10,
    )
    rv.record_verdict(
        j("B1", "R3"), user=pp.alice, verdict="false_call", seconds_spent=6
    )
    v = rv.record_verdict(
        j("B2", "R1"), user=pp.bob, verdict="false_call", seconds_spent=4
    )
    rv.correct_verdict(
        v.id,
        user=pp.supervisor,
        verdict="confirmed_defect",
        defect_code="cold_joint",
        seconds_spent=8,
    )
    rv.record_verdict(
        j("B2", "C1"),
        user=pp.bob,
        verdict="confirmed_defect",
        defect_code="excess_solder",
        ipc_condition="process_indicator",
        seconds_spent=2,
    )
    rv.record_verdict(j("B2", "C2"), user=pp.bob, verdict="skipped", seconds_spent=1)
    rv.record_verdict(
        j("B3", "R1"), user=pp.alice, verdict="false_call", seconds_spent=5
    )
    rv.undo_last(pp.alice)
    rv.record_verdict(
        j("B3", "R2"), user=pp.alice, verdict="false_call", seconds_spent=3
    )
    rv.record_verdict(
        j("B4", "Q1"),
        user=pp.supervisor,
        verdict="confirmed_defect",
        defect_code="bridge",
    )
    for item in db.rework.items(status="open"):
        if item.refdes == "R1" and item.board_serial == "B1":
            db.rework.record_outcome(item.id, user=pp.tech, status="repaired")
        if item.refdes == "U1":
            db.rework.record_outcome(item.id, user=pp.tech, status="not_a_defect")
    return start


def test_report_matches_hand_computation(database: Database, people: People):
    start = _build(database, people)
    r = database.reports.shift_report(actor=people.supervisor, start=start)
    # joints: B1 5 + B2 5 + B3 3 + B4 2 = 15; boards 4 (B0 is before the period).
    assert (r.joints_inspected, r.boards_inspected) == (15, 4)
    # calls: B1 R1 R2 R3 + B2 R1 C1 C2 U1 + B3 R1 R2 = 9
    assert r.calls == 9
    # confirmed: B1R1 (repaired), B1R2, B2R1, B4Q1 = 4
    # false calls: B1R3, B2U1, B3R2 = 3
    assert (r.confirmed_defects, r.false_calls) == (4, 3)
    assert (r.process_indicators, r.skipped) == (1, 1)
    # pending calls: B2C2 (skipped) + B3R1 (undone) = 2; 3 + 3 + 1 + 2 = 9 calls
    assert r.pending_calls == 2
    assert r.false_call_ppm == pytest.approx(3 / 15 * 1e6)  # 200000
    assert r.false_call_ratio == pytest.approx(3 / 9)
    assert r.dpmo == pytest.approx(4 / 15 * 1e6)  # 266 666.7
    # boards with a confirmed defect: B1, B2, B4 -> FPY = 1/4
    assert r.fpy == pytest.approx(0.25)
    assert (r.model_escapes, r.operator_escapes) == (1, 1)
    assert r.model_escape_ppm == pytest.approx(1 / 15 * 1e6)
    # current verdicts: B1R2 10, B1R3 6, B2R1 8 (sue; bob's 4 s superseded), B2C1 2,
    # B2C2 1, B3R2 3, B4Q1 none -> 7 verdicts, 30 s
    assert r.reviewed == 7
    assert r.review_seconds_total == pytest.approx(30)
    assert r.review_seconds_per_call == pytest.approx(30 / 7)
    assert r.calls_per_board == pytest.approx(9 / 4)
    # agreement over confirmed/false verdicts (model "defect" = p >= 0.5):
    # B1R2 .60 D/D yes, B1R3 .40 N/N yes, B2R1 .70 D/D yes, B2C1 .30 N/PI=N yes,
    # B3R2 .55 D/N no, B4Q1 .03 N/D no -> 4/6
    assert r.operator_model_agreement == pytest.approx(4 / 6)
    assert r.pareto_by_code == [("bridge", 2), ("cold_joint", 1), ("uncoded", 1)]
    assert r.pareto_by_refdes == [("R1", 2), ("Q1", 1), ("R2", 1)]
    rows = {row.user_name: row for row in r.per_inspector}
    assert set(rows) == {"alice", "bob", "sue"}
    alice, bob, sue = rows["alice"], rows["bob"], rows["sue"]
    assert (alice.verdicts, alice.confirmed_defects, alice.false_calls) == (3, 1, 2)
    assert alice.review_seconds_total == pytest.approx(19)
    assert alice.operator_model_agreement == pytest.approx(2 / 3)
    assert (bob.verdicts, bob.process_indicators, bob.skipped) == (2, 1, 1)
    assert bob.review_seconds_per_verdict == pytest.approx(1.5)
    assert bob.operator_model_agreement == pytest.approx(1.0)
    assert (sue.verdicts, sue.confirmed_defects) == (2, 2)
    assert sue.operator_model_agreement == pytest.approx(0.5)
    assert r.generated_by == "sue"
    assert database.audit.entries(action="report_generated")


def test_shift_report_by_shift_and_empty_period(database: Database, people: People):
    shift = database.shifts.open_shift(people.alice)
    inspect(database, "B1", [0.5, 0.1])
    (item,) = database.review.queue(ReviewFilter())
    database.review.record_verdict(
        item.joint_id, user=people.alice, verdict="false_call"
    )
    r = database.reports.shift_report(actor=people.admin, shift_id=shift.id)
    assert (r.joints_inspected, r.false_calls, r.shift_id) == (2, 1, shift.id)
    assert r.period_start == shift.started_at
    empty = database.reports.shift_report(actor=people.admin, start=utcnow())
    assert empty.joints_inspected == 0
    assert empty.fpy is None
    assert empty.dpmo is None
    assert empty.false_call_ratio is None
    with pytest.raises(ValueError, match="shift or a start"):
        database.reports.shift_report(actor=people.admin)


@pytest.mark.parametrize("who", ["alice", "tech"])
def test_inspectors_and_technicians_cannot_export(
    database: Database, people: People, who: str
):
    actor = getattr(people, who)
    with pytest.raises(PermissionDeniedError, match="may not export reports"):
        database.reports.shift_report(actor=actor, start=utcnow())
    (denied,) = database.audit.entries(action="report_denied")
    assert denied.user_id == actor.id
