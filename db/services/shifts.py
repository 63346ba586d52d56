"""Shifts: opened at login, closed at logout or handover."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.dto import ShiftDTO, UserDTO
from db.errors import PermissionDeniedError
from db.mappers import shift_dto
from db.models import Shift
from db.services._base import ServiceBase


class ShiftService(ServiceBase):
    """Open, close and list shifts."""

    def open_shift(self, user: UserDTO) -> ShiftDTO:
        """Open a shift for the user, closing a stale open one (e.g. after a crash).

        Returns:
            The new shift.
        """

        def work(s: Session) -> ShiftDTO:
            actor = repo.acting_user(s, user.id)
            now = utcnow()
            stale = s.scalars(
                select(Shift).where(Shift.user_id == actor.id, Shift.ended_at.is_(None))
            ).all()
            for old in stale:
                old.ended_at = now
                repo.add_audit(
                    s, actor.id, "shift_closed", "shift", old.id, {"reason": "stale"}
                )
            shift = Shift(user_id=actor.id, started_at=now)
            s.add(shift)
            s.flush()
            repo.add_audit(s, actor.id, "shift_opened", "shift", shift.id, {})
            return shift_dto(shift)

        return self._write(work)

    def close_shift(self, shift_id: int, *, user: UserDTO) -> ShiftDTO:
        """Close a shift (owner, supervisor or admin). Closing twice is a no-op.

        Raises:
            PermissionDeniedError: someone else's shift and not a supervisor.
            NotFoundError: no such shift.
        """

        def work(s: Session) -> ShiftDTO:
            actor = repo.acting_user(s, user.id)
            shift = repo.get_or_raise(s, Shift, shift_id, "shift")
            if shift.user_id != actor.id and actor.role not in repo.SUPERVISOR_ROLES:
                msg = f"{actor.name} may not close another user's shift"
                raise PermissionDeniedError(msg)
            if shift.ended_at is None:
                shift.ended_at = utcnow()
                repo.add_audit(s, actor.id, "shift_closed", "shift", shift.id, {})
            return shift_dto(shift)

        return self._write(work)

    def current_shift(self, user_id: int) -> ShiftDTO | None:
        """The user's open shift, or None."""

        def work(s: Session) -> ShiftDTO | None:
            shift = s.scalars(
                select(Shift)
                .where(Shift.user_id == user_id, Shift.ended_at.is_(None))
                .order_by(Shift.id.desc())
                .limit(1)
            ).first()
            return shift_dto(shift) if shift else None

        return self._read(work)

    def get_shift(self, shift_id: int) -> ShiftDTO:
        """One shift by id (NotFoundError if missing)."""
        return self._read(
            lambda s: shift_dto(repo.get_or_raise(s, Shift, shift_id, "shift"))
        )

    def list_shifts(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[ShiftDTO]:
        """Shifts overlapping [start, end), newest first."""
        repo.aware(start, "start")
        repo.aware(end, "end")

        def work(s: Session) -> list[ShiftDTO]:
            stmt = select(Shift).order_by(Shift.started_at.desc(), Shift.id.desc())
            if end is not None:
                stmt = stmt.where(Shift.started_at < end)
            if start is not None:
                stmt = stmt.where(
                    or_(Shift.ended_at.is_(None), Shift.ended_at >= start)
                )
            return [shift_dto(sh) for sh in s.scalars(stmt)]

        return self._read(work)
