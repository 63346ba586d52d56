"""Database test fixtures: a real SQLite file per test, and PostgreSQL when available.

Set `SOLDERNET_TEST_PG_URL` (e.g. `postgresql+psycopg://soldernet@127.0.0.1:54329/t`)
to run the `database` fixture's tests against PostgreSQL too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db import Database, ExplanationRecord, JointRecord, Role, UserDTO, open_database
from inference.types import BBox

PG_URL = os.environ.get("SOLDERNET_TEST_PG_URL", "")

ADMIN_PIN = "123456"
PIN = "4321"


_pg_state = {"migrated": False}


def _reset_postgres(url: str) -> None:
    """Migrate the test database once per session, then empty it before each test."""
    from sqlalchemy import create_engine

    from db.base import Base

    engine = create_engine(url)
    with engine.begin() as conn:
        if not _pg_state["migrated"]:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            tables = ", ".join(Base.metadata.tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    _pg_state["migrated"] = True


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper scrypt cost in tests (the parameters are stored with each hash)."""
    monkeypatch.setattr("db.services.users.SCRYPT_N", 2**8)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file migrated to head once per session; tests get a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    open_database(path).close()  # closing the last connection checkpoints the WAL
    return path


def _fresh_sqlite(template: Path, target: Path) -> Database:
    shutil.copyfile(template, target)
    return open_database(target)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="SOLDERNET_TEST_PG_URL not set"),
            ],
        ),
    ]
)
def database(
    request: pytest.FixtureRequest, db_path: Path, _template_db: Path
) -> Iterator[Database]:
    """A migrated, empty database (a SQLite file, or a wiped PostgreSQL database)."""
    if request.param == "postgres":
        _reset_postgres(PG_URL)
        db = open_database(PG_URL)
    else:
        db = _fresh_sqlite(_template_db, db_path)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def sqlite_db(db_path: Path, _template_db: Path) -> Iterator[Database]:
    """A migrated SQLite database file only."""
    db = _fresh_sqlite(_template_db, db_path)
    try:
        yield db
    finally:
        db.close()


class People:
    """The usual cast: an admin, a supervisor, two inspectors, a technician."""

    def __init__(self, db: Database) -> None:
        self.admin = db.users.create_user("admin", Role.ADMIN, ADMIN_PIN, actor=None)
        self.supervisor = self._make(db, "sue", Role.SUPERVISOR)
        self.alice = self._make(db, "alice", Role.INSPECTOR)
        self.bob = self._make(db, "bob", Role.INSPECTOR)
        self.tech = self._make(db, "tom", Role.TECHNICIAN)

    def _make(self, db: Database, name: str, role: Role) -> UserDTO:
        return db.users.create_user(name, role, PIN, actor=self.admin)


@pytest.fixture
def people(database: Database) -> People:
    return People(database)


def joint(
    p: float, refdes: str = "R1", pin: str = "1", *, explained: bool = False
) -> JointRecord:
    """A joint record at a fixed box."""
    explanation = (
        ExplanationRecord(
            p_before=p,
            p_after=0.1,
            n_factors=2,
            forward_passes=40,
            explainer_version="gsinquire-1",
            overlay_path=f"/x/{refdes}-{pin}.png",
        )
        if explained
        else None
    )
    return JointRecord(
        bbox=BBox(10, 20, 30, 40),
        p=p,
        refdes=refdes,
        pin=pin,
        crop_path=f"/crops/{refdes}-{pin}.png",
        explanation=explanation,
    )


def inspect(
    db: Database,
    serial: str,
    ps: list[float] | list[tuple[float, str]],
    *,
    product: str = "P1",
    user: UserDTO | None = None,
):
    """Record a finished inspection with joints of the given p (t_lo=0.2, t_hi=0.8)."""
    joints = []
    for i, item in enumerate(ps):
        p, refdes = item if isinstance(item, tuple) else (item, f"R{i + 1}")
        joints.append(joint(p, refdes, "1", explained=True))
    return db.inspections.record_inspection(
        serial=serial,
        product=product,
        image_path=f"/img/{serial}.png",
        image_sha256=hashlib.sha256(serial.encode()).hexdigest(),
        model_version="m-1",
        t_lo=0.2,
        t_hi=0.8,
        joints=joints,
        user=user,
    )
