"""Inspections, the review queue, verdicts (append-only) and the rework list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db import (
    Database,
    DefectCode,
    InspectionStatus,
    IpcCondition,
    NotFoundError,
    PermissionDeniedError,
    QueueSort,
    Region,
    ReviewFilter,
    ReworkOpenError,
    ReworkSource,
    ReworkStatus,
    VerdictConflictError,
    VerdictKind,
)
from db.base import utcnow
from tests.db.conftest import People, inspect, joint


def test_record_inspection_counts_regions_and_opens_model_rework(
    database: Database, people: People
):
    insp = inspect(database, "B1", [0.95, 0.5, 0.3, 0.05], user=people.alice)
    assert insp.status is InspectionStatus.DONE
    assert (
        insp.n_joints,
        insp.n_defect,
        insp.n_possible_defect,
        insp.n_non_defect,
    ) == (
        4,
        1,
        2,
        1,
    )
    assert insp.n_rework_items == 1
    (item,) = database.rework.items()
    assert item.source is ReworkSource.MODEL
    assert (item.refdes, item.board_serial, item.crop_path) == (
        "R1",
        "B1",
        "/crops/R1-1.png",
    )
    assert item.explanation is not None
    assert item.explanation.n_factors == 2


def test_queue_filters_sorts_and_counts(database: Database, people: People):
    inspect(database, "B1", [(0.5, "R1"), (0.3, "C7"), (0.7, "R12")], product="P1")
    inspect(database, "B2", [(0.6, "U3"), (0.95, "R1")], product="P2")
    q = database.review.queue()
    assert [(i.board_serial, i.refdes) for i in q] == [
        ("B1", "R12"),
        ("B2", "U3"),
        ("B1", "R1"),
        ("B1", "C7"),
    ]
    assert q[0].explanation is not None
    assert q[0].model_version == "m-1"
    assert database.review.queue_count() == 4
    asc = database.review.queue(ReviewFilter(sort=QueueSort.P_ASC))
    assert [i.p for i in asc] == [0.3, 0.5, 0.6, 0.7]
    f = ReviewFilter(product="P1", refdes="r1", sort=QueueSort.REFDES)
    assert [i.refdes for i in database.review.queue(f)] == ["R1", "R12"]
    assert database.review.queue_count(f) == 2
    f = ReviewFilter(p_min=0.5, p_max=0.65)
    assert sorted(i.p for i in database.review.queue(f)) == [0.5, 0.6]
    assert len(database.review.queue(offset=1, limit=2)) == 2
    b2 = database.review.queue(ReviewFilter(board_serial="2"))[0].board_id
    assert database.review.queue_count(ReviewFilter(board_id=b2)) == 1


def test_running_inspection_joints_wait_and_reinspection_replaces_queue(
    database: Database, people: People
):
    ins = database.inspections.start_inspection(
        serial="B9",
        product="P1",
        image_path="/i.png",
        image_sha256="0" * 64,
        model_version="m-2",
        t_lo=0.2,
        t_hi=0.8,
    )
    assert database.inspections.add_joints(ins.id, [joint(0.5), joint(0.6, "R2")]) == 2
    assert database.review.queue_count() == 0  # not finished yet
    done = database.inspections.finish_inspection(ins.id)
    assert done.n_possible_defect == 2
    assert done.finished_at is not None
    assert database.review.queue_count() == 2
    with pytest.raises(VerdictConflictError):
        database.inspections.add_joints(ins.id, [joint(0.5)])
    inspect(database, "B9", [0.4])  # the board was inspected again
    assert [i.p for i in database.review.queue()] == [0.4]


def test_mark_interrupted_fails_dead_runs(database: Database, people: People):
    ins = database.inspections.start_inspection(
        serial="B1",
        product="P1",
        image_path="/i.png",
        image_sha256="0" * 64,
        model_version="m",
        t_lo=0.2,
        t_hi=0.8,
    )
    assert database.inspections.mark_interrupted() == 0  # our own process runs it
    assert (
        database.inspections.mark_interrupted(
            started_before=utcnow() + timedelta(seconds=1)
        )
        == 1
    )
    got = database.inspections.get_inspection(ins.id)
    assert got.status is InspectionStatus.FAILED
    assert "interrupted" in got.error
    failed = database.inspections.fail_inspection(ins.id, "late")  # already final
    assert failed.error == got.error


def test_verdict_records_provenance_and_leaves_queue(
    database: Database, people: People
):
    inspect(database, "B1", [0.5, 0.3])
    shift = database.shifts.open_shift(people.alice)
    item = database.review.queue()[0]
    v = database.review.record_verdict(
        item.joint_id,
        user=people.alice,
        verdict=VerdictKind.CONFIRMED_DEFECT,
        defect_code=DefectCode.BRIDGE,
        ipc_condition="defect",
        ipc_class=3,
        note="bridge to pad 2",
        seconds_spent=4.5,
    )
    assert (v.model_version, v.t_lo, v.t_hi) == ("m-1", 0.2, 0.8)
    assert v.shift_id == shift.id  # defaults to the open shift
    assert v.ipc_class == 3
    assert v.created_at.tzinfo is not None
    assert database.review.queue_count() == 1
    assert database.review.current_verdict(item.joint_id) == v
    assert database.review.count_verdicts(shift_id=shift.id) == 1
    with pytest.raises(VerdictConflictError, match="already has a verdict"):
        database.review.record_verdict(
            item.joint_id, user=people.bob, verdict="false_call"
        )
    (rw,) = database.rework.items(status="open")
    assert (rw.source, rw.defect_code, rw.inspector_note) == (
        ReworkSource.VERDICT,
        DefectCode.BRIDGE,
        "bridge to pad 2",
    )


@pytest.mark.parametrize(
    ("kwargs", "to_rework"),
    [
        ({"verdict": "confirmed_defect", "defect_code": "cold_joint"}, True),
        (
            {
                "verdict": "confirmed_defect",
                "defect_code": "excess_solder",
                "ipc_condition": IpcCondition.PROCESS_INDICATOR,
            },
            False,
        ),
        ({"verdict": "false_call"}, False),
        ({"verdict": "skipped"}, False),
    ],
)
def test_what_goes_to_rework(database: Database, people: People, kwargs, to_rework):
    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    database.review.record_verdict(item.joint_id, user=people.alice, **kwargs)
    assert bool(database.rework.items()) is to_rework


def test_bad_verdict_arguments(database: Database, people: People):
    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    with pytest.raises(ValueError, match="defect code goes only"):
        database.review.record_verdict(
            item.joint_id, user=people.alice, verdict="false_call", defect_code="bridge"
        )
    with pytest.raises(ValueError, match="undo_last"):
        database.review.record_verdict(
            item.joint_id, user=people.alice, verdict="undone"
        )
    with pytest.raises(ValueError, match="4"):
        database.review.record_verdict(
            item.joint_id, user=people.alice, verdict="confirmed_defect", ipc_class=4
        )
    with pytest.raises(PermissionDeniedError):
        database.review.record_verdict(
            item.joint_id, user=people.tech, verdict="skipped"
        )
    with pytest.raises(NotFoundError):
        database.review.record_verdict(999, user=people.alice, verdict="skipped")


def test_inspector_cannot_change_another_users_verdict(
    database: Database, people: People
):
    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    v = database.review.record_verdict(
        item.joint_id, user=people.alice, verdict="false_call"
    )
    with pytest.raises(PermissionDeniedError, match="may not change alice's verdict"):
        database.review.correct_verdict(
            v.id, user=people.bob, verdict="confirmed_defect", defect_code="bridge"
        )
    assert database.review.current_verdict(item.joint_id) == v
    (denied,) = database.audit.entries(action="verdict_change_denied")
    assert denied.user_name == "bob"
    assert denied.entity_id == v.id


def test_supervisor_correction_supersedes_and_is_audited(
    database: Database, people: People
):
    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    v1 = database.review.record_verdict(
        item.joint_id,
        user=people.alice,
        verdict="confirmed_defect",
        defect_code="bridge",
    )
    assert database.rework.items(status="open")
    v2 = database.review.correct_verdict(
        v1.id, user=people.supervisor, verdict="false_call"
    )
    assert v2.supersedes_id == v1.id
    assert v2.user_name == "sue"
    assert database.review.current_verdict(item.joint_id) == v2
    assert [v.id for v in database.review.verdict_history(item.joint_id)] == [
        v1.id,
        v2.id,
    ]
    (entry,) = database.audit.entries(action="verdict_corrected")
    assert entry.user_name == "sue"
    assert entry.details["by_other_user"] is True
    assert entry.details["owner"] == "alice"
    assert [i.status for i in database.rework.items()] == [ReworkStatus.CANCELLED]
    with pytest.raises(VerdictConflictError, match="already superseded"):
        database.review.correct_verdict(v1.id, user=people.alice, verdict="skipped")
    # Own corrections are allowed and re-open rework.
    v3 = database.review.correct_verdict(
        v2.id, user=people.supervisor, verdict="confirmed_defect", defect_code="burn"
    )
    assert database.rework.items(status="open")[0].defect_code is DefectCode.BURN
    assert v3.supersedes_id == v2.id


def test_undo_returns_joint_to_queue_and_is_audited(database: Database, people: People):
    inspect(database, "B1", [0.6, 0.5])
    first, second = database.review.queue()
    database.review.record_verdict(
        first.joint_id, user=people.alice, verdict="false_call"
    )
    database.review.record_verdict(
        second.joint_id,
        user=people.alice,
        verdict="confirmed_defect",
        defect_code="bridge",
    )
    assert database.review.queue_count() == 0
    undo = database.review.undo_last(people.alice)
    assert undo is not None
    assert undo.verdict is VerdictKind.UNDONE
    assert undo.joint_id == second.joint_id
    assert [i.joint_id for i in database.review.queue()] == [second.joint_id]
    assert database.review.current_verdict(second.joint_id) is None
    assert [i.status for i in database.rework.items()] == [ReworkStatus.CANCELLED]
    assert database.review.undo_last(people.alice).joint_id == first.joint_id
    assert database.review.undo_last(people.alice) is None
    assert database.review.undo_last(people.bob) is None
    assert len(database.audit.entries(action="verdict_undone")) == 2
    # A new verdict after an undo continues the chain.
    v = database.review.record_verdict(
        first.joint_id, user=people.bob, verdict="skipped"
    )
    assert v.supersedes_id is not None
    assert len(database.review.verdict_history(first.joint_id)) == 3
    assert database.review.queue_count(ReviewFilter(include_skipped=True)) == 2


def test_verdicts_are_append_only_in_the_database(database: Database, people: People):
    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    database.review.record_verdict(
        item.joint_id, user=people.alice, verdict="false_call"
    )
    for sql in ("UPDATE verdicts SET note = 'x'", "DELETE FROM verdicts"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            database.sessions.begin() as s,
        ):
            s.execute(text(sql))
    with pytest.raises(DBAPIError, match="append-only"), database.sessions.begin() as s:
        s.execute(text("DELETE FROM audit_log"))
    assert len(database.review.verdict_history(item.joint_id)) == 1


def test_rework_outcomes_and_board_completion(database: Database, people: People):
    insp = inspect(database, "B1", [0.95, 0.5])
    (item,) = database.review.queue()
    database.review.record_verdict(
        item.joint_id,
        user=people.alice,
        verdict="confirmed_defect",
        defect_code="insufficient_solder",
        note="thin fillet",
    )
    model_item, verdict_item = sorted(
        database.rework.items(board_id=insp.board_id), key=lambda r: r.id
    )
    with pytest.raises(PermissionDeniedError):
        database.rework.record_outcome(
            model_item.id, user=people.alice, status="repaired"
        )
    with pytest.raises(ValueError, match="outcome"):
        database.rework.record_outcome(model_item.id, user=people.tech, status="open")
    with pytest.raises(ReworkOpenError, match="2 open"):
        database.rework.complete_board(insp.board_id, user=people.tech)
    done = database.rework.record_outcome(
        model_item.id, user=people.tech, status=ReworkStatus.REPAIRED, note="reflowed"
    )
    assert (done.status, done.technician_name, done.note) == (
        ReworkStatus.REPAIRED,
        "tom",
        "reflowed",
    )
    assert done.outcome_at is not None
    with pytest.raises(VerdictConflictError, match="already repaired"):
        database.rework.record_outcome(
            model_item.id, user=people.tech, status="scrapped"
        )
    database.rework.record_outcome(
        verdict_item.id, user=people.tech, status="not_a_defect"
    )
    board = database.rework.complete_board(insp.board_id, user=people.tech)
    assert board.reinspection_requested_at is not None
    assert (
        database.audit.entries(action="board_completed")[0].entity_id == insp.board_id
    )
    assert database.rework.items(status="open") == []


def test_region_is_computed_from_thresholds(database: Database, people: People):
    insp = inspect(database, "B1", [0.8, 0.2, 0.1999])
    assert (insp.n_defect, insp.n_possible_defect, insp.n_non_defect) == (1, 1, 1)
    assert database.review.queue()[0].region is Region.POSSIBLE_DEFECT


def test_reference_joint_is_a_clean_one_of_the_same_kind(
    database: Database, people: People
):
    inspect(database, "B1", [0.5, 0.1, 0.03, 0.9])
    item = database.review.queue()[0]
    ref = database.review.reference_joint(item.joint_id)
    assert ref is not None
    assert (ref.p, ref.region) == (0.03, Region.NON_DEFECT)


def test_orm_refuses_to_update_or_delete_verdicts(database: Database, people: People):
    from db.errors import AppendOnlyError
    from db.models import Verdict

    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    v = database.review.record_verdict(
        item.joint_id, user=people.alice, verdict="skipped"
    )
    with pytest.raises(AppendOnlyError, match="never updated"):
        with database.sessions.begin() as s:
            s.get(Verdict, v.id).note = "rewritten"
    with pytest.raises(AppendOnlyError, match="never deleted"):
        with database.sessions.begin() as s:
            s.delete(s.get(Verdict, v.id))
    assert database.review.current_verdict(item.joint_id) == v


def test_race_on_one_joint_is_a_conflict_not_a_crash(
    database: Database, people: People, monkeypatch: pytest.MonkeyPatch
):
    """Two stations pass the head check at once: the chain constraints decide."""
    inspect(database, "B1", [0.5])
    (item,) = database.review.queue()
    database.review.record_verdict(item.joint_id, user=people.alice, verdict="skipped")
    monkeypatch.setattr("db.repositories.head_verdict", lambda s, joint_id: None)
    with pytest.raises(VerdictConflictError, match="another station"):
        database.review.record_verdict(
            item.joint_id, user=people.bob, verdict="skipped"
        )
    with pytest.raises(NotFoundError, match="shift 99"):
        database.review.correct_verdict(
            database.review.verdict_history(item.joint_id)[0].id,
            user=people.alice,
            verdict="false_call",
            shift_id=99,
        )
