"""Schema migrations: back up, then `alembic upgrade head` (configured from code).

Policy: a database behind head is copied to `<name>.bak-<revision>-<UTC time>` next to
it (SQLite online-backup API, so the copy is consistent even with a WAL) and then
upgraded inside one transaction. A database stamped with a revision this application
does not know was written by a newer version and is refused (`SchemaTooNewError`); it is
never touched. A database with tables but no Alembic stamp is refused too.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from db.base import Base
from db.engine import READ_ONLY_OPTION, describe, make_engine, sqlite_file
from db.errors import MigrationError, SchemaTooNewError
from db.retry import translate, with_retry

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class MigrationResult:
    """What `upgrade_to_head` did.

    Attributes:
        from_revision: the revision found (None: an empty database).
        to_revision: the revision now stamped (head).
        backup_path: the backup written before upgrading, or None if none was needed.
    """

    from_revision: str | None
    to_revision: str
    backup_path: Path | None

    @property
    def upgraded(self) -> bool:
        """True if the schema changed."""
        return self.from_revision != self.to_revision


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic `Config` pointing at the migrations inside this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    """The revision scripts shipped with this version."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this application knows."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        msg = "no migration scripts found"
        raise MigrationError(msg)
    return head


def _read_revision(conn: Connection, where: str) -> str | None:
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        tables = set(inspect(conn).get_table_names())
        if tables:
            ours = set(Base.metadata.tables) & tables
            what = (
                "has SolderNet tables but no schema version"
                if ours
                else "is not a SolderNet Review database"
            )
            msg = f"database {where} {what}; refusing to change it"
            raise MigrationError(msg)
    return revision


def _check_known(revision: str | None, where: str) -> None:
    if revision is None:
        return
    scripts = script_directory()
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        msg = (
            f"database {where} was written by a newer SolderNet Review "
            f"(schema {revision}); this version knows up to {head_revision()}; "
            "upgrade the application"
        )
        raise SchemaTooNewError(msg)


def _backup_sqlite(path: Path, revision: str | None) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{revision or 'base'}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{revision or 'base'}-{stamp}-{n}")
    src = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    log.info("backed up %s to %s before migrating", path, target)
    return target


def current_revision(url_or_path: str | Path | URL | Engine) -> str | None:
    """The Alembic revision stamped in a database (None: empty database).

    Raises:
        DbError: the location is unusable or the file is not a database.
    """
    engine = (
        url_or_path if isinstance(url_or_path, Engine) else make_engine(url_or_path)
    )
    where = describe(engine.url)

    def read() -> str | None:
        with engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    try:
        return with_retry(read, where=where)
    finally:
        if engine is not url_or_path:
            engine.dispose()


def upgrade_to_head(url_or_path: str | Path | URL | Engine) -> MigrationResult:
    """Bring a database to the newest schema, after a backup.

    Args:
        url_or_path: a file path, a URL, or an engine made by `make_engine`.

    Returns:
        From and to revision and the backup written (if any).

    Raises:
        SchemaTooNewError: the database was written by a newer version.
        MigrationError: the file is not ours or the migration failed.
        DatabaseLocationError: the location is unusable.
    """
    engine = (
        url_or_path if isinstance(url_or_path, Engine) else make_engine(url_or_path)
    )
    where = describe(engine.url)
    path = sqlite_file(engine.url)
    head = head_revision()
    try:
        # Cheap read first: no write lock when nothing needs doing, and a newer
        # schema is refused before anything is written.
        with engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as conn:
            found = _read_revision(conn, where)
        _check_known(found, where)
        if found == head:
            return MigrationResult(found, head, None)

        # The write transaction (BEGIN IMMEDIATE on SQLite) serialises two stations
        # that start at the same moment: the second re-reads and finds head.
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            found = _read_revision(conn, where)
            _check_known(found, where)
            if found == head:
                return MigrationResult(found, head, None)
            backup = None
            # An unstamped database is empty (`_read_revision` refuses one with
            # tables): there is nothing to lose, so nothing to back up.
            if path is not None and found is not None:
                backup = _backup_sqlite(path, found)
            log.info("migrating %s from %s to %s", where, found or "empty", head)
            command.upgrade(alembic_config(conn), "head")
        return MigrationResult(found, head, backup)
    except (SchemaTooNewError, MigrationError):
        raise
    except DBAPIError as exc:
        translated = translate(exc, where)
        if translated is None:
            msg = f"database {where}: migration to {head} failed: {exc.orig}"
            raise MigrationError(msg) from exc
        raise translated from exc
    finally:
        if engine is not url_or_path:
            engine.dispose()
