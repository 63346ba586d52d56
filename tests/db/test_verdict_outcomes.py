"""`ReviewService.verdict_outcomes`: the (p, is_defect) pairs of the what-if."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db import Database
from db.base import utcnow
from tests.db.conftest import People, inspect


def test_outcomes_follow_current_verdicts(database: Database, people: People):
    inspect(database, "B1", [0.3, 0.4, 0.5, 0.6, 0.7, 0.9])
    items = {round(i.p, 2): i.joint_id for i in database.review.queue()}
    rv = database.review
    rv.record_verdict(
        items[0.3], user=people.alice, verdict="confirmed_defect", defect_code="bridge"
    )
    rv.record_verdict(items[0.4], user=people.alice, verdict="false_call")
    rv.record_verdict(items[0.5], user=people.alice, verdict="skipped")
    v = rv.record_verdict(items[0.6], user=people.bob, verdict="false_call")
    rv.correct_verdict(
        v.id,
        user=people.supervisor,
        verdict="confirmed_defect",
        defect_code="cold_joint",
    )
    rv.record_verdict(
        items[0.7],
        user=people.bob,
        verdict="confirmed_defect",
        defect_code="excess_solder",
        ipc_condition="process_indicator",
    )
    # 0.9 is in the defect region: no verdict, so not in the what-if.
    pairs = rv.verdict_outcomes()
    assert [(round(p, 2), y) for p, y in pairs] == [
        (0.3, True),
        (0.4, False),
        (0.6, True),  # the correction counts, not the first call
        (0.7, False),  # a process indicator is not a defect
    ]


def test_undone_verdicts_and_the_period_filter(database: Database, people: People):
    inspect(database, "B1", [0.3, 0.4])
    a, b = (i.joint_id for i in database.review.queue())
    database.review.record_verdict(a, user=people.alice, verdict="false_call")
    database.review.record_verdict(b, user=people.alice, verdict="false_call")
    database.review.undo_last(people.alice)
    assert len(database.review.verdict_outcomes()) == 1
    later = utcnow() + timedelta(hours=1)
    assert database.review.verdict_outcomes(start=later) == []
    assert len(database.review.verdict_outcomes(end=later)) == 1
    with pytest.raises(ValueError, match="timezone-aware"):
        database.review.verdict_outcomes(start=later.replace(tzinfo=None))
