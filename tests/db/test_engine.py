"""Engine set-up, lock handling and use from worker threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from db import Database, DatabaseLockedError, open_database
from db.engine import to_url
from db.retry import with_retry
from tests.db.conftest import People, inspect


def test_plain_path_becomes_sqlite_url(tmp_path: Path):
    assert str(to_url(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    assert str(to_url("postgresql://u@h/d")).startswith("postgresql+psycopg://")


def test_transient_lock_errors_are_retried_then_reported_clearly():
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise OperationalError(
                "BEGIN", {}, sqlite3.OperationalError("database is locked")
            )
        return "ok"

    assert with_retry(flaky, where="/x.db") == "ok"
    assert calls["n"] == 3

    def stuck() -> str:
        raise OperationalError(
            "BEGIN", {}, sqlite3.OperationalError("database is locked")
        )

    with pytest.raises(
        DatabaseLockedError, match=r"database /x\.db is locked by another"
    ):
        with_retry(stuck, where="/x.db", attempts=2)


def test_lock_held_by_another_program(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
):
    """Another program holds the write lock: we wait, then say so clearly."""
    path = sqlite_db.path
    sqlite_db.close()
    monkeypatch.setattr("db.engine.BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr("db.retry.FIRST_DELAY_S", 0.01)
    monkeypatch.setattr("db.retry.ATTEMPTS", 2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with open_database(path) as db:
            with pytest.raises(DatabaseLockedError) as info:
                db.audit.log(None, "blocked")
            assert str(path) in str(info.value)
            assert db.audit.entries() == []  # reading is not blocked (WAL)
            other.execute("COMMIT")
            db.audit.log(None, "after")  # lock gone: works again
            assert [e.action for e in db.audit.entries()] == ["after"]
    finally:
        other.close()


def test_services_work_from_a_worker_thread(sqlite_db: Database):
    people = People(sqlite_db)
    inspect(sqlite_db, "B1", [0.5, 0.6])
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for item in sqlite_db.review.queue():
                sqlite_db.review.record_verdict(
                    item.joint_id, user=people.alice, verdict="false_call"
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    t.join(30)
    assert errors == []
    assert sqlite_db.review.queue_count() == 0


def test_unreachable_server_is_a_clear_error():
    from db import DatabaseUnavailableError

    url = "postgresql+psycopg://someone:secret@127.0.0.1:1/nothing?connect_timeout=2"
    with pytest.raises(DatabaseUnavailableError, match="cannot reach database") as info:
        open_database(url)
    assert "secret" not in str(info.value)
    assert "127.0.0.1:1/nothing" in str(info.value)
