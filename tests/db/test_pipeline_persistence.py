"""Service additions for the pipeline (issue 6): repeat lookup, joint ids, late
explanations."""

from __future__ import annotations

import hashlib

import pytest

from db import Database, ExplanationRecord, NotFoundError, VerdictConflictError
from tests.db.conftest import joint

SHA = hashlib.sha256(b"board").hexdigest()


def _start(db: Database, model_version: str = "m-1") -> int:
    return db.inspections.start_inspection(
        serial="SN1",
        product="P1",
        image_path="/img/SN1.png",
        image_sha256=SHA,
        model_version=model_version,
        t_lo=0.2,
        t_hi=0.8,
    ).id


def _record(p: float = 0.5) -> ExplanationRecord:
    return ExplanationRecord(
        p_before=p,
        p_after=0.1,
        n_factors=1,
        forward_passes=33,
        explainer_version="cfi/abc",
        overlay_path="/a/o.png",
        heatmap_path="/a/h.npz",
        mask_path="/a/m.npz",
    )


def test_find_done_inspection_needs_same_image_model_and_done(
    database: Database,
) -> None:
    svc = database.inspections
    running = _start(database)
    assert svc.find_done_inspection(SHA, "m-1") is None  # running is not done
    svc.add_joints(running, [joint(0.5), joint(0.9, "R2")])
    svc.finish_inspection(running)
    found = svc.find_done_inspection(SHA, "m-1")
    assert found is not None
    assert found.id == running
    assert found.n_joints == 2
    assert svc.find_done_inspection(SHA, "m-2") is None
    assert svc.find_done_inspection("0" * 64, "m-1") is None
    failed = _start(database, "m-2")
    svc.fail_inspection(failed, "boom")
    assert svc.find_done_inspection(SHA, "m-2") is None


def test_joint_ids_in_insertion_order_and_late_explanations(
    database: Database,
) -> None:
    svc = database.inspections
    insp = _start(database)
    svc.add_joints(insp, [joint(0.5, "R1"), joint(0.6, "R2"), joint(0.1, "R3")])
    svc.finish_inspection(insp)
    ids = svc.joint_ids(insp)
    assert len(ids) == 3
    assert ids == sorted(ids)
    item = database.review.item(ids[1])
    assert item.refdes == "R2"
    assert item.explanation is None
    dto = svc.add_explanation(ids[1], _record(0.6))
    assert dto.joint_id == ids[1]
    assert dto.forward_passes == 33
    item = database.review.item(ids[1])
    assert item.explanation is not None
    assert item.explanation.overlay_path == "/a/o.png"
    assert item.explanation.heatmap_path == "/a/h.npz"
    with pytest.raises(VerdictConflictError):
        svc.add_explanation(ids[1], _record())
    with pytest.raises(NotFoundError):
        svc.add_explanation(10**6, _record())
    with pytest.raises(NotFoundError):
        svc.joint_ids(10**6)
