"""The rework (repair) list and technicians' outcomes.

Vigilance seeds never get rework items (`_verdicts.ensure_rework` refuses them); the
queries here filter them out as well, so a seed could never reach a technician.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from db import repositories as repo
from db.base import utcnow
from db.dto import BoardDTO, ReworkItemDTO, UserDTO
from db.enums import ReworkStatus, Role
from db.errors import ReworkOpenError, VerdictConflictError
from db.mappers import board_dto, rework_dto
from db.models import Board, Inspection, Joint, ReworkItem, Verdict
from db.services._base import ServiceBase

_TECHNICIANS = frozenset({Role.TECHNICIAN, Role.SUPERVISOR, Role.ADMIN})
_OUTCOMES = frozenset(
    {ReworkStatus.REPAIRED, ReworkStatus.SCRAPPED, ReworkStatus.NOT_A_DEFECT}
)


class ReworkService(ServiceBase):
    """List rework items, record repairs, send boards to re-inspection."""

    def items(
        self,
        board_id: int | None = None,
        status: ReworkStatus | str | None = None,
    ) -> list[ReworkItemDTO]:
        """Rework items, grouped by board serial then defect code then refdes.

        Args:
            board_id: only this board.
            status: only this status (e.g. `open`).
        """
        wanted = ReworkStatus(status) if status is not None else None

        def work(s: Session) -> list[ReworkItemDTO]:
            stmt = (
                select(ReworkItem)
                .join(Joint, ReworkItem.joint_id == Joint.id)
                .options(
                    joinedload(ReworkItem.joint)
                    .joinedload(Joint.inspection)
                    .joinedload(Inspection.board)
                    .joinedload(Board.product),
                    joinedload(ReworkItem.joint).joinedload(Joint.explanation),
                    joinedload(ReworkItem.technician),
                )
                .where(repo.not_seeded(Joint.id))
                .order_by(Joint.board_id, Joint.refdes, Joint.pin, ReworkItem.id)
            )
            if board_id is not None:
                stmt = stmt.where(Joint.board_id == board_id)
            if wanted is not None:
                stmt = stmt.where(ReworkItem.status == wanted)
            rows = s.scalars(stmt).unique().all()
            verdict_ids = {r.verdict_id for r in rows if r.verdict_id is not None}
            verdicts = (
                {
                    v.id: v
                    for v in s.scalars(
                        select(Verdict).where(Verdict.id.in_(verdict_ids))
                    )
                }
                if verdict_ids
                else {}
            )
            out = [rework_dto(r, verdicts.get(r.verdict_id or -1)) for r in rows]
            out.sort(
                key=lambda d: (
                    d.board_serial,
                    d.board_id,
                    str(d.defect_code or ""),
                    d.refdes,
                    d.pin,
                    d.id,
                )
            )
            return out

        return self._read(work)

    def record_outcome(
        self, item_id: int, *, user: UserDTO, status: ReworkStatus | str, note: str = ""
    ) -> ReworkItemDTO:
        """Record what the technician did: repaired, scrapped or not a defect (audited).

        Raises:
            ValueError: the status is not an outcome.
            PermissionDeniedError: the user is not a technician, supervisor or admin.
            VerdictConflictError: the item is no longer open.
            NotFoundError: no such item.
        """
        outcome = ReworkStatus(status)
        if outcome not in _OUTCOMES:
            msg = "the outcome must be repaired, scrapped or not_a_defect"
            raise ValueError(msg)

        def work(s: Session) -> ReworkItemDTO:
            tech = repo.acting_user(s, user.id, _TECHNICIANS)
            item = repo.get_or_raise(s, ReworkItem, item_id, "rework item")
            if item.status is not ReworkStatus.OPEN:
                msg = f"rework item {item_id} is already {item.status.value}"
                raise VerdictConflictError(msg)
            item.status = outcome
            item.technician_id = tech.id
            item.outcome_at = utcnow()
            item.note = note or ""
            repo.add_audit(
                s,
                tech.id,
                "rework_outcome",
                "rework_item",
                item.id,
                {"status": outcome.value, "joint_id": item.joint_id},
            )
            s.flush()
            s.refresh(item)
            source = s.get(Verdict, item.verdict_id) if item.verdict_id else None
            return rework_dto(item, source)

        return self._write(work)

    def complete_board(self, board_id: int, *, user: UserDTO) -> BoardDTO:
        """Mark a board repaired and waiting for re-inspection (audited).

        Raises:
            ReworkOpenError: the board still has open rework items.
            PermissionDeniedError: the user is not a technician, supervisor or admin.
            NotFoundError: no such board.
        """

        def work(s: Session) -> BoardDTO:
            tech = repo.acting_user(s, user.id, _TECHNICIANS)
            board = repo.get_or_raise(s, Board, board_id, "board")
            still_open = s.scalars(
                select(ReworkItem.id)
                .join(Joint, ReworkItem.joint_id == Joint.id)
                .where(
                    Joint.board_id == board_id,
                    ReworkItem.status == ReworkStatus.OPEN,
                    repo.not_seeded(Joint.id),
                )
            ).all()
            if still_open:
                msg = (
                    f"board {board.serial} still has {len(still_open)} open rework "
                    "item(s)"
                )
                raise ReworkOpenError(msg)
            board.reinspection_requested_at = utcnow()
            board.reinspection_requested_by_id = tech.id
            repo.add_audit(
                s,
                tech.id,
                "board_completed",
                "board",
                board.id,
                {"serial": board.serial},
            )
            return board_dto(board)

        return self._write(work)
