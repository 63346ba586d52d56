"""Schema migrations, backups, newer-schema refusal and unusable locations."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from db import (
    DatabaseLocationError,
    DatabaseReadOnlyError,
    MigrationError,
    SchemaTooNewError,
    open_database,
)
from db.base import Base
from db.engine import make_engine
from db.migrate import alembic_config, current_revision, head_revision, upgrade_to_head


def test_empty_file_upgrades_to_head_without_diff(db_path: Path):
    db_path.touch()  # an existing, empty file
    result = upgrade_to_head(db_path)
    assert (result.from_revision, result.to_revision) == (None, head_revision())
    assert result.backup_path is None  # nothing to lose in an empty file
    assert current_revision(db_path) == head_revision()
    engine = make_engine(db_path)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()
    again = upgrade_to_head(db_path)
    assert not again.upgraded
    assert again.backup_path is None


def test_older_schema_is_backed_up_then_migrated(db_path: Path):
    engine = make_engine(db_path)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.exec_driver_sql(
            "INSERT INTO users (name, role, pin_hash, active, created_at) "
            "VALUES ('old', 'admin', 'x', 1, '2026-01-01 00:00:00')"
        )
    engine.dispose()
    assert current_revision(db_path) == "0001"
    with open_database(db_path) as db:
        result = db.migration
        assert (result.from_revision, result.to_revision) == ("0001", head_revision())
        assert [u.name for u in db.users.list_users()] == ["old"]
    backup = result.backup_path
    assert backup is not None
    assert backup.exists()
    assert backup.name.startswith(f"{db_path.name}.bak-0001-")
    with sqlite3.connect(backup) as con:
        assert con.execute("SELECT name FROM users").fetchall() == [("old",)]
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0001",
        )
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_newer_schema_is_refused_untouched(db_path: Path):
    open_database(db_path).close()
    with sqlite3.connect(db_path) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_future'")
    before = db_path.read_bytes()
    with pytest.raises(SchemaTooNewError) as info:
        open_database(db_path)
    text = str(info.value)
    assert str(db_path) in text
    assert "newer SolderNet Review (schema 9999_future)" in text
    assert f"knows up to {head_revision()}" in text
    assert "upgrade the application" in text
    assert db_path.read_bytes() == before
    assert not list(db_path.parent.glob("*.bak-*"))


def test_not_migrating_refuses_an_old_schema(db_path: Path):
    engine = make_engine(db_path)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()
    with pytest.raises(MigrationError, match="soldernet db upgrade"):
        open_database(db_path, migrate=False)
    open_database(db_path).close()
    open_database(db_path, migrate=False).close()


def test_foreign_sqlite_file_is_refused(db_path: Path):
    with sqlite3.connect(db_path) as con:
        con.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(MigrationError, match="not a SolderNet Review database"):
        open_database(db_path)


def test_garbage_file_is_refused_clearly(db_path: Path):
    db_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MigrationError, match=f"{db_path}.*not a usable SQLite"):
        open_database(db_path)


def test_missing_folder_names_the_path(tmp_path: Path):
    target = tmp_path / "nowhere" / "inspection.db"
    with pytest.raises(DatabaseLocationError, match="does not exist") as info:
        open_database(target)
    assert str(target) in str(info.value)
    with open_database(target, create_folder=True) as db:  # the default-location case
        assert db.path == target


def test_folder_that_is_a_file(tmp_path: Path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    with pytest.raises(DatabaseLocationError, match="is not a folder"):
        open_database(blocker / "inspection.db")


def test_read_only_file_and_folder_messages(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Tests run as root, where chmod does not stop writes: simulate what os.access
    # reports for a non-root user on a read-only file and folder.
    open_database(db_path).close()
    real_access = os.access

    def fake_access(path, mode, **kw):
        if Path(path) == target and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", fake_access)
    target = db_path
    with pytest.raises(DatabaseReadOnlyError, match="the file is read-only") as info:
        open_database(db_path)
    assert str(db_path) in str(info.value)
    assert isinstance(info.value, DatabaseLocationError)
    target = db_path.parent
    with pytest.raises(
        DatabaseReadOnlyError, match=f"folder {db_path.parent} is read-only"
    ):
        open_database(db_path)


def test_read_only_connection_write_gives_clear_error(db_path: Path):
    """A real read-only SQLite connection (mode=ro): writes fail with our message."""
    with open_database(db_path) as db:
        db.users.create_user("root", "admin", "1234", actor=None)
    url = f"sqlite:///file:{db_path}?mode=ro&uri=true"
    with open_database(url, migrate=False) as db:
        assert [u.name for u in db.users.list_users()] == ["root"]
        with pytest.raises(
            DatabaseReadOnlyError, match=f"{db_path}: the file is read-only"
        ):
            db.audit.log(None, "x")


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("SOLDERNET_TEST_PG_URL"), reason="SOLDERNET_TEST_PG_URL not set"
)
def test_postgres_upgrade_has_no_diff():
    from sqlalchemy import text

    url = os.environ["SOLDERNET_TEST_PG_URL"]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    assert upgrade_to_head(engine).from_revision is None
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    engine.dispose()
