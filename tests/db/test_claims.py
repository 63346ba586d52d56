"""Board claims: two stations on one folder never take the same board twice."""

from __future__ import annotations

import threading
import time

from db import Database, open_database
from db.services.claims import ClaimService, ClaimStatus

PATHS = [f"/watch/board_{i:03d}.jpg" for i in range(40)]


def _claims(db: Database) -> ClaimService:
    return ClaimService(db.sessions, db.read_sessions, where=db.where)


def _second(db: Database) -> Database:
    return open_database(db.engine.url.render_as_string(hide_password=False))


def test_claim_complete_release(database: Database) -> None:
    svc = _claims(database)
    assert svc.claim_next("A", []) is None
    first = svc.claim_next("A", PATHS[:3])
    assert first == PATHS[0]
    assert svc.claim_next("B", PATHS[:3]) == PATHS[1]
    assert not svc.complete(first, "B")  # not B's claim
    assert svc.complete(first, "A")
    assert svc.release(PATHS[1], "B")
    assert svc.claim_next("A", PATHS[:3]) == PATHS[1]
    assert svc.claim_next("A", PATHS[:3]) == PATHS[2]
    assert svc.claim_next("A", PATHS[:3]) is None
    assert svc.complete(PATHS[2], "A", ok=False, error="bad image")
    by_path = {c.path: c for c in svc.list_claims()}
    assert by_path[PATHS[0]].status == ClaimStatus.DONE
    assert by_path[PATHS[2]].status == ClaimStatus.FAILED
    assert by_path[PATHS[2]].error == "bad image"
    assert by_path[PATHS[1]].attempts == 2


def test_stale_claim_is_taken_over(database: Database) -> None:
    svc = _claims(database)
    assert svc.claim_next("dead", PATHS[:1]) == PATHS[0]
    assert svc.claim_next("B", PATHS[:1], timeout_s=3600) is None
    time.sleep(0.05)
    assert svc.claim_next("B", PATHS[:1], timeout_s=0.01) == PATHS[0]
    [claim] = svc.list_claims()
    assert claim.station_id == "B"
    assert claim.attempts == 2
    assert not svc.complete(PATHS[0], "dead")


def test_two_stations_never_claim_the_same_board(database: Database) -> None:
    other = _second(database)
    taken: dict[str, list[str]] = {"A": [], "B": []}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def station(name: str, db: Database) -> None:
        svc = _claims(db)
        try:
            barrier.wait()
            while (path := svc.claim_next(name, PATHS)) is not None:
                taken[name].append(path)
                svc.complete(path, name)
        except BaseException as exc:  # reported below, never swallowed
            errors.append(exc)

    try:
        threads = [
            threading.Thread(target=station, args=("A", database)),
            threading.Thread(target=station, args=("B", other)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        other.close()
    assert not errors, errors
    both = taken["A"] + taken["B"]
    assert sorted(both) == PATHS  # every board once, none twice
    statuses = {c.status for c in _claims(database).list_claims()}
    assert statuses == {ClaimStatus.DONE}
