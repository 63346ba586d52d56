"""Engine and session factory: SQLite by default, PostgreSQL by URL.

SQLite choices (one station, or a few processes on one machine):

* `journal_mode=WAL`: readers never block the writer, the writer never blocks readers.
* `synchronous=FULL`: in WAL mode `NORMAL` already keeps every returned commit when the
  *process* is killed (the WAL pages are in the OS page cache), but a power cut can lose
  the last transactions. Verdicts arrive one every few seconds, so the extra fsync per
  commit is cheap and we take `FULL`: a commit that returned survives a power cut too.
* `foreign_keys=ON`, `busy_timeout=30000` ms.
* Write transactions start with `BEGIN IMMEDIATE` (SQLAlchemy's "pysqlite serializable"
  recipe: the driver's own transaction handling is switched off and the "begin" event
  emits the statement). A deferred transaction that reads and then writes must upgrade
  its lock and fails at once with "database is locked" when another process got there
  first; `BEGIN IMMEDIATE` takes the write lock up front and so waits `busy_timeout`.
  Read-only work uses `engine.execution_options(soldernet_read_only=True)` and a plain
  deferred `BEGIN`, so the GUI can read while a worker writes.

Keep the SQLite file on a local disk: WAL needs shared memory and does not work on a
network share. Several stations share one PostgreSQL database instead
(`postgresql+psycopg://...`), with the same code; none of the above applies there.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from db.errors import DatabaseLocationError, DatabaseReadOnlyError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
READ_ONLY_OPTION = "soldernet_read_only"


def to_url(url_or_path: str | Path | URL) -> URL:
    """Turn a file path or a database URL into a SQLAlchemy URL.

    Args:
        url_or_path: `sqlite:///...`, `postgresql+psycopg://...`, or a plain file path.

    Returns:
        The parsed URL; a plain path becomes `sqlite:///<absolute path>`.
    """
    if isinstance(url_or_path, URL):
        return url_or_path
    text = str(url_or_path)
    if isinstance(url_or_path, Path) or "://" not in text:
        path = Path(text).expanduser().resolve()
        return make_url(f"sqlite:///{path}")
    url = make_url(text)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None (not SQLite, or in memory)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in {"", ":memory:"}:
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def describe(url: URL) -> str:
    """A short, password-free name of the database for messages."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    return url.render_as_string(hide_password=True)


def check_location(path: Path, *, read_only: bool = False) -> None:
    """Refuse a SQLite location that cannot work, with a message naming the path.

    Args:
        path: the database file.
        read_only: the file is opened read-only (`?mode=ro`): it must exist, and
            nothing needs to be writable.

    Raises:
        DatabaseLocationError: the folder is missing or is not a folder.
        DatabaseReadOnlyError: the folder or the file cannot be written.
    """
    folder = path.parent
    if not folder.exists():
        msg = f"database {path}: the folder {folder} does not exist"
        raise DatabaseLocationError(msg)
    if not folder.is_dir():
        msg = f"database {path}: {folder} is not a folder"
        raise DatabaseLocationError(msg)
    if path.exists() and path.is_dir():
        msg = f"database {path}: this is a folder, not a database file"
        raise DatabaseLocationError(msg)
    if read_only:
        if not path.is_file():
            msg = f"database {path}: the file does not exist"
            raise DatabaseLocationError(msg)
        return
    # SQLite needs to create the -wal and -shm files next to the database.
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"database {path}: the folder {folder} is read-only"
        raise DatabaseReadOnlyError(msg)
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        msg = f"database {path}: the file is read-only"
        raise DatabaseReadOnlyError(msg)


def _install_sqlite_listeners(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let the "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url_or_path: str | Path | URL, **kwargs: Any) -> Engine:
    """Create an engine for a database file or URL (never at import time).

    Args:
        url_or_path: a SQLite file path, a `sqlite:///` URL or a `postgresql+psycopg://`
            URL.
        **kwargs: passed on to `sqlalchemy.create_engine`.

    Returns:
        The engine, with the SQLite connection set-up described in this module.

    Raises:
        DatabaseLocationError: the SQLite file's folder is missing or not a folder.
        DatabaseReadOnlyError: the SQLite file or its folder is read-only.
    """
    url = to_url(url_or_path)
    path = sqlite_file(url)
    if path is not None:
        check_location(path, read_only=url.query.get("mode") == "ro")
    if url.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _install_sqlite_listeners(engine)
    log.debug("engine for %s", describe(url))
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The services' session factory: `sessionmaker(engine, expire_on_commit=False)`."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory for read-only units of work (deferred `BEGIN` on SQLite)."""
    return sessionmaker(
        engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
    )
