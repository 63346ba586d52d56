"""Shared plumbing of the services: one unit of work per call, with lock retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from db.retry import with_retry

T = TypeVar("T")


class ServiceBase:
    """Base of every service.

    Args:
        sessions: the write session factory (`BEGIN IMMEDIATE` on SQLite).
        read_sessions: the read-only session factory (deferred `BEGIN`); defaults to
            `sessions`.
        where: the database's name for error messages.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        read_sessions: sessionmaker[Session] | None = None,
        *,
        where: str = "database",
    ) -> None:
        self._sessions = sessions
        self._read_sessions = read_sessions or sessions
        self._where = where

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run `work` as one write transaction, retried on transient lock errors."""

        def unit() -> T:
            with self._sessions.begin() as s:
                return work(s)

        return with_retry(unit, where=self._where)

    def _read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one read-only transaction."""

        def unit() -> T:
            with self._read_sessions.begin() as s:
                return work(s)

        return with_retry(unit, where=self._where)


class Deferred(Exception):
    """Raised *after* a unit of work committed (e.g. denial audited, then refused).

    Services return `Deferred(error)` from the transaction body when the audit row of a
    refusal must be kept; `raise_deferred` raises the carried error afterwards.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def raise_deferred(result: T | Deferred) -> T:
    """Raise the error carried by a `Deferred`, else return the result."""
    if isinstance(result, Deferred):
        raise result.error
    return result
