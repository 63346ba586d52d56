"""Board claims: several stations watching one folder never inspect a file twice.

Each image file a station sees gets a row in ``board_claims`` (keyed by its path).
`ClaimService.claim_next` hands a station the first unclaimed file of the paths it
passes and marks it claimed by that station, atomically:

- PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` on the candidate rows, so two
  stations claiming at the same moment each lock a different row instead of one
  waiting for (and then losing) the other's.
- SQLite: the write session starts with ``BEGIN IMMEDIATE`` (`db.engine`), so claims
  are serialised by the database lock; the select-then-update runs under it.

A claim older than ``timeout_s`` that was never completed (the station died) is
handed out again. `complete` closes a claim as done or failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from db.base import utcnow
from db.models import BoardClaim, ClaimStatus
from db.services._base import ServiceBase

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

__all__ = ["BoardClaim", "ClaimDTO", "ClaimService", "ClaimStatus"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30 * 60.0
"""A claim not completed within 30 minutes is considered abandoned."""


@dataclass(frozen=True)
class ClaimDTO:
    """A claim as the app sees it."""

    id: int
    path: str
    status: str
    station_id: str
    claimed_at: datetime | None
    finished_at: datetime | None
    attempts: int
    error: str


def _dto(c: BoardClaim) -> ClaimDTO:
    return ClaimDTO(
        id=c.id,
        path=c.path,
        status=c.status,
        station_id=c.station_id,
        claimed_at=c.claimed_at,
        finished_at=c.finished_at,
        attempts=c.attempts,
        error=c.error,
    )


def _chunks(items: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


class ClaimService(ServiceBase):
    """Claim image files for one station at a time (see the module doc)."""

    def register(self, paths: Iterable[str]) -> int:
        """Make sure every path has a claim row (pending if new).

        Returns:
            How many rows were new.
        """
        keys = sorted({str(p) for p in paths})
        if not keys:
            return 0

        def work(s: Session) -> int:
            n = 0
            for chunk in _chunks(keys):
                known = set(
                    s.scalars(select(BoardClaim.path).where(BoardClaim.path.in_(chunk)))
                )
                new = [k for k in chunk if k not in known]
                if not new:
                    continue
                dialect = s.get_bind().dialect.name
                rows = [{"path": k, "status": ClaimStatus.PENDING} for k in new]
                if dialect == "postgresql":
                    from sqlalchemy.dialects.postgresql import insert as pg_insert

                    s.execute(pg_insert(BoardClaim).on_conflict_do_nothing(), rows)
                elif dialect == "sqlite":
                    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                    s.execute(sqlite_insert(BoardClaim).on_conflict_do_nothing(), rows)
                else:  # pragma: no cover - only SQLite and PostgreSQL are supported
                    s.execute(sa.insert(BoardClaim), rows)
                n += len(new)
            return n

        return self._write(work)

    def claim_next(
        self,
        station_id: str,
        paths: Iterable[str],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> str | None:
        """Claim the first (by path) unclaimed file among ``paths`` for a station.

        Args:
            station_id: who claims (host:pid or a configured station name).
            paths: the files the station sees (e.g. a watched folder's images).
            timeout_s: a claim older than this and not completed is taken over.

        Returns:
            The claimed path, or None when every path is taken or finished.
        """
        keys = sorted({str(p) for p in paths})
        if not keys:
            return None
        self.register(keys)
        stale = utcnow() - timedelta(seconds=float(timeout_s))

        def work(s: Session) -> str | None:
            for chunk in _chunks(keys):
                row = s.scalars(
                    select(BoardClaim)
                    .where(
                        BoardClaim.path.in_(chunk),
                        or_(
                            BoardClaim.status == ClaimStatus.PENDING,
                            and_(
                                BoardClaim.status == ClaimStatus.CLAIMED,
                                BoardClaim.claimed_at < stale,
                            ),
                        ),
                    )
                    .order_by(BoardClaim.path)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    continue
                if row.status == ClaimStatus.CLAIMED:
                    log.warning(
                        "taking over %s: claimed by %s at %s and never completed",
                        row.path,
                        row.station_id,
                        row.claimed_at,
                    )
                row.status = ClaimStatus.CLAIMED
                row.station_id = station_id
                row.claimed_at = utcnow()
                row.attempts = (row.attempts or 0) + 1
                return row.path
            return None

        return self._write(work)

    def complete(
        self, path: str, station_id: str, *, ok: bool = True, error: str = ""
    ) -> bool:
        """Close a station's claim as done (or failed, with the message).

        Returns:
            False if the claim was not (or no longer) held by that station.
        """

        def work(s: Session) -> bool:
            res = s.execute(
                update(BoardClaim)
                .where(
                    BoardClaim.path == str(path),
                    BoardClaim.station_id == station_id,
                    BoardClaim.status == ClaimStatus.CLAIMED,
                )
                .values(
                    status=ClaimStatus.DONE if ok else ClaimStatus.FAILED,
                    finished_at=utcnow(),
                    error=error,
                )
            )
            return bool(cast("CursorResult[Any]", res).rowcount)

        return self._write(work)

    def release(self, path: str, station_id: str) -> bool:
        """Give a claim back unfinished (e.g. cancelled) so another station takes it."""

        def work(s: Session) -> bool:
            res = s.execute(
                update(BoardClaim)
                .where(
                    BoardClaim.path == str(path),
                    BoardClaim.station_id == station_id,
                    BoardClaim.status == ClaimStatus.CLAIMED,
                )
                .values(status=ClaimStatus.PENDING, station_id="", claimed_at=None)
            )
            return bool(cast("CursorResult[Any]", res).rowcount)

        return self._write(work)

    def list_claims(self, *, status: str | None = None) -> list[ClaimDTO]:
        """Every claim (optionally of one status), by path."""

        def work(s: Session) -> list[ClaimDTO]:
            stmt = select(BoardClaim).order_by(BoardClaim.path)
            if status is not None:
                stmt = stmt.where(BoardClaim.status == status)
            return [_dto(c) for c in s.scalars(stmt)]

        return self._read(work)
