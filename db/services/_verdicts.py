"""Verdict-chain helpers used by `ReviewService` (take a Session, never commit)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.base import utcnow
from db.enums import (
    DefectCode,
    IpcClass,
    IpcCondition,
    ReworkSource,
    ReworkStatus,
    VerdictKind,
)
from db.errors import VerdictConflictError
from db.models import Joint, ReworkItem, Shift, Verdict

GIVEN = (VerdictKind.CONFIRMED_DEFECT, VerdictKind.FALSE_CALL, VerdictKind.SKIPPED)


def goes_to_rework(kind: VerdictKind, condition: IpcCondition | None) -> bool:
    """A confirmed defect goes to rework, unless it is only a process indicator."""
    return kind is VerdictKind.CONFIRMED_DEFECT and condition is not (
        IpcCondition.PROCESS_INDICATOR
    )


def validate(
    verdict: VerdictKind | str,
    defect_code: DefectCode | str | None,
    ipc_condition: IpcCondition | str | None,
    ipc_class: IpcClass | int | None,
    seconds_spent: float | None,
) -> tuple[VerdictKind, DefectCode | None, IpcCondition | None, int | None]:
    """Check and normalise a verdict's arguments.

    Raises:
        ValueError: unknown values, or a combination that makes no sense.
    """
    kind = VerdictKind(verdict)
    if kind not in GIVEN:
        msg = "a verdict is confirmed_defect, false_call or skipped (use undo_last)"
        raise ValueError(msg)
    code = DefectCode(defect_code) if defect_code is not None else None
    if code is not None and kind is not VerdictKind.CONFIRMED_DEFECT:
        msg = "a defect code goes only with a confirmed defect"
        raise ValueError(msg)
    condition = IpcCondition(ipc_condition) if ipc_condition is not None else None
    klass = int(IpcClass(int(ipc_class))) if ipc_class is not None else None
    if seconds_spent is not None and float(seconds_spent) < 0:
        msg = "seconds_spent must not be negative"
        raise ValueError(msg)
    return kind, code, condition, klass


def check_head(s: Session, v: Verdict) -> None:
    """Refuse to supersede a verdict that is no longer the head of its chain."""
    newer = s.scalars(select(Verdict).where(Verdict.supersedes_id == v.id)).first()
    if newer is not None:
        msg = (
            f"verdict {v.id} was already superseded by verdict {newer.id} "
            f"({newer.user.name}); reload"
        )
        raise VerdictConflictError(msg)


def append(
    s: Session,
    joint: Joint,
    user_id: int,
    kind: VerdictKind,
    code: DefectCode | None,
    condition: IpcCondition | None,
    klass: int | None,
    note: str,
    seconds_spent: float | None,
    shift_id: int | None,
    supersedes: Verdict | None,
) -> Verdict:
    """Append a verdict row with the provenance of the inspection that made the call.

    `shift_id` defaults to the user's open shift.
    """
    if shift_id is not None:
        repo.get_or_raise(s, Shift, shift_id, "shift")
    else:
        shift_id = s.scalar(
            select(Shift.id)
            .where(Shift.user_id == user_id, Shift.ended_at.is_(None))
            .order_by(Shift.id.desc())
            .limit(1)
        )
    insp = joint.inspection
    row = Verdict(
        joint_id=joint.id,
        user_id=user_id,
        shift_id=shift_id,
        verdict=kind,
        defect_code=code,
        ipc_condition=condition,
        ipc_class=klass,
        note=note or "",
        created_at=utcnow(),
        seconds_spent=None if seconds_spent is None else float(seconds_spent),
        model_version=insp.model_version,
        t_lo=insp.t_lo,
        t_hi=insp.t_hi,
        supersedes_id=supersedes.id if supersedes is not None else None,
    )
    s.add(row)
    s.flush()
    return row


def ensure_rework(s: Session, joint_id: int, verdict_id: int) -> None:
    """Open a verdict rework item for the joint unless one is open already.

    A vigilance seed never goes to rework: it is a test image, not a board joint.
    """
    if repo.is_seeded(s, joint_id):
        return
    if repo.open_rework_item(s, joint_id) is None:
        s.add(
            ReworkItem(
                joint_id=joint_id,
                verdict_id=verdict_id,
                source=ReworkSource.VERDICT,
                status=ReworkStatus.OPEN,
                created_at=utcnow(),
            )
        )
        s.flush()


def follow_rework(
    s: Session,
    old: Verdict,
    new: Verdict,
    kind: VerdictKind,
    condition: IpcCondition | None,
) -> None:
    """Make rework follow a verdict that replaced `old` (correction or undo).

    Seeded (vigilance) joints never have rework items, so nothing follows them.
    """
    if repo.is_seeded(s, old.joint_id):
        return
    item = repo.open_rework_item(s, old.joint_id)
    if goes_to_rework(kind, condition):
        if item is None:
            ensure_rework(s, old.joint_id, new.id)
        elif item.source is ReworkSource.VERDICT:
            item.verdict_id = new.id
        return
    if item is not None and item.source is ReworkSource.VERDICT:
        item.status = ReworkStatus.CANCELLED
        item.outcome_at = utcnow()
        item.note = f"cancelled: verdict {old.id} became {kind.value}"
