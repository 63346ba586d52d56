"""Transient-lock retries and translation of driver errors into `DbError`s.

With `BEGIN IMMEDIATE` and a 30 s busy timeout SQLite rarely reports a lock, but a few
paths (WAL recovery, a checkpoint, a second process holding the lock for longer) still
can. Those errors are retried a bounded number of times with backoff; after that the
user gets `DatabaseLockedError` naming the file, never the raw "database is locked".
PostgreSQL serialization failures and deadlocks are retried the same way.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from db.errors import (
    DatabaseFullError,
    DatabaseLocationError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    DbError,
    MigrationError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 6
FIRST_DELAY_S = 0.05

_SQLITE_TRANSIENT = (
    "database is locked",
    "database is busy",
    "database table is locked",
)
_PG_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}


def _message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).lower()


def is_transient(exc: BaseException) -> bool:
    """True for lock and serialization errors that a retry may cure."""
    if not isinstance(exc, DBAPIError):
        return False
    text = _message(exc)
    if any(t in text for t in _SQLITE_TRANSIENT):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return sqlstate in _PG_TRANSIENT_SQLSTATES


def translate(exc: BaseException, where: str) -> DbError | None:
    """Map a driver error to a user-facing `DbError`, or None if it is not one we know.

    Args:
        exc: the exception raised by SQLAlchemy or the driver.
        where: the database's name for the message (file path or URL without password).
    """
    if isinstance(exc, DbError):
        return exc
    if not isinstance(exc, DBAPIError):
        return None
    text = _message(exc)
    if is_transient(exc):
        return DatabaseLockedError(
            f"database {where} is locked by another program; try again in a moment"
        )
    if "readonly database" in text or "read-only" in text:
        if "://" in where:  # a server: a read-only replica, transaction or role
            return DatabaseReadOnlyError(
                f"database {where} is read-only: the server refuses writes"
            )
        return DatabaseReadOnlyError(
            f"database {where}: the file is read-only (the file, its folder or its "
            "disk refuses writes)"
        )
    if "unable to open database file" in text:
        return DatabaseLocationError(
            f"database {where}: cannot open or create the file"
        )
    if "database or disk is full" in text or "no space left" in text:
        return DatabaseFullError(f"database {where}: the disk is full")
    if "disk i/o error" in text:
        return DatabaseLocationError(
            f"database {where}: the disk reported an input/output error (removed, "
            "full or failing)"
        )
    if isinstance(exc, OperationalError) and any(
        t in text for t in ("could not connect", "connection", "authentication failed")
    ):
        first_line = text.strip().splitlines()[0] if text.strip() else "no details"
        return DatabaseUnavailableError(f"cannot reach database {where}: {first_line}")
    if "file is not a database" in text or "malformed" in text:
        return MigrationError(
            f"database {where}: the file is not a usable SQLite database"
        )
    return None


def with_retry(fn: Callable[[], T], *, where: str, attempts: int | None = None) -> T:
    """Call `fn` (one whole unit of work), retrying transient lock errors.

    Args:
        fn: the unit of work; it must open and commit its own transaction so that a
            retry starts from scratch.
        where: the database's name for messages.
        attempts: how many times to try in all (default `ATTEMPTS`).

    Returns:
        What `fn` returns.

    Raises:
        DbError: the translated error (`DatabaseLockedError` once retries are spent).
    """
    attempts = ATTEMPTS if attempts is None else attempts
    delay = FIRST_DELAY_S
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if is_transient(exc) and attempt < attempts:
                log.info(
                    "database %s busy (attempt %d/%d); retrying",
                    where,
                    attempt,
                    attempts,
                )
                time.sleep(delay * (1 + random.random()))
                delay *= 2
                continue
            translated = translate(exc, where)
            if translated is None:
                raise
            raise translated from exc
    msg = "unreachable"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover
