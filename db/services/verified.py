"""Operator-verified joints: the field data the fine-tuning loop learns from.

A joint is *verified* when a person settled what it is:

* its current verdict (the head of its chain) is `confirmed_defect` or `false_call`
  (a confirmed defect whose IPC condition is only a process indicator counts as not
  defective, as in the reports); skipped and undone heads are not verified, and a
  verdict that was later corrected counts only through its correction;
* or, for a joint the model sent straight to rework (region `defect`, no verdict), the
  technician's outcome: `repaired`/`scrapped` -> defective, `not_a_defect` -> not.

Vigilance seeds (known joints planted in the queue) are never verified field data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import repositories as repo
from db.dto import UserDTO
from db.enums import (
    DefectCode,
    InspectionStatus,
    IpcCondition,
    Region,
    ReworkSource,
    ReworkStatus,
    Role,
    VerdictKind,
)
from db.errors import PermissionDeniedError
from db.models import (
    Board,
    Inspection,
    Joint,
    Product,
    ReworkItem,
    User,
    Verdict,
    VigilanceSeed,
)
from db.services._base import Deferred, ServiceBase, raise_deferred

EXPORT_ROLES = frozenset({Role.ENGINEER, Role.ADMIN})

_TECHNICIAN_LABEL = {
    ReworkStatus.REPAIRED: 1,
    ReworkStatus.SCRAPPED: 1,
    ReworkStatus.NOT_A_DEFECT: 0,
}


@dataclass(frozen=True)
class VerifiedJoint:
    """One joint with a person's settled answer, and what the model had said.

    Attributes:
        joint_id: the joint.
        label: 1 = defective, 0 = not (from the verdict or the technician).
        defect_code: the verdict's defect code (None when not given or not a defect).
        source: ``"verdict"`` or ``"rework"`` (technician outcome).
        p: the model's confidence that the joint is defective.
        region: the model's region for it.
        model_version: the version that made the call.
        t_lo, t_hi: the thresholds that version used.
        crop_path: the joint crop image ("" when none was written).
        board_serial, product, side, refdes, pin, joint_type, package: where it is.
        inspection_id: the inspection that found it.
        decided_by: who settled it.
        decided_at: when (the verdict's or the rework outcome's time).
        corrected: the verdict chain holds more than one row (it was changed).
    """

    joint_id: int
    label: int
    defect_code: str | None
    source: str
    p: float
    region: str
    model_version: str
    t_lo: float
    t_hi: float
    crop_path: str
    board_serial: str
    product: str
    side: str
    refdes: str
    pin: str
    joint_type: str
    package: str
    inspection_id: int
    decided_by: str
    decided_at: datetime | None
    corrected: bool


class VerifiedJointService(ServiceBase):
    """Read the verified joints for `soldernet export-verified` (audited)."""

    def verified_joints(
        self,
        *,
        actor: UserDTO,
        start: datetime | None = None,
        end: datetime | None = None,
        model_version: str | None = None,
    ) -> list[VerifiedJoint]:
        """Every verified joint (see the module doc), oldest joint first.

        Args:
            actor: an engineer or admin (the export is audited as
                ``verified_exported``; a refusal as ``verified_export_denied``).
            start: only joints settled at or after this aware time.
            end: only joints settled before this aware time.
            model_version: only joints called by this model version.

        Raises:
            PermissionDeniedError: the actor is not an engineer or admin.
        """
        repo.aware(start, "start")
        repo.aware(end, "end")

        def work(s: Session) -> list[VerifiedJoint] | Deferred:
            try:
                user = repo.acting_user(s, actor.id, EXPORT_ROLES)
            except PermissionDeniedError as exc:
                repo.add_audit(s, actor.id, "verified_export_denied", "joint", None, {})
                return Deferred(exc)
            rows = _from_verdicts(s, model_version) + _from_rework(s, model_version)
            rows = [
                r
                for r in rows
                if (start is None or (r.decided_at and r.decided_at >= start))
                and (end is None or (r.decided_at and r.decided_at < end))
            ]
            rows.sort(key=lambda r: r.joint_id)
            repo.add_audit(
                s,
                user.id,
                "verified_exported",
                "joint",
                None,
                {
                    "n": len(rows),
                    "defective": sum(r.label for r in rows),
                    "model_version": model_version,
                    "start": start.isoformat() if start else None,
                    "end": end.isoformat() if end else None,
                },
            )
            return rows

        return raise_deferred(self._write(work))


def _not_seeded() -> object:
    return Joint.id.not_in(select(VigilanceSeed.joint_id))


def _base_columns() -> tuple[object, ...]:
    return (Joint, Inspection, Board.serial, Board.side, Product.name)


def _located(stmt: object, model_version: str | None) -> object:
    stmt = (
        stmt.join(Inspection, Joint.inspection_id == Inspection.id)  # type: ignore[attr-defined]
        .join(Board, Joint.board_id == Board.id)
        .join(Product, Board.product_id == Product.id)
        .where(Inspection.status == InspectionStatus.DONE, _not_seeded())
    )
    if model_version:
        stmt = stmt.where(Inspection.model_version == model_version)
    return stmt


def _from_verdicts(s: Session, model_version: str | None) -> list[VerifiedJoint]:
    heads = repo.head_verdicts_subquery()
    chain = (
        select(Verdict.joint_id, func.count(Verdict.id).label("n"))
        .group_by(Verdict.joint_id)
        .subquery("chain")
    )
    stmt = (
        select(*_base_columns(), Verdict, User.name, chain.c.n)
        .select_from(Joint)
        .join(heads, heads.c.joint_id == Joint.id)
        .join(Verdict, Verdict.id == heads.c.verdict_id)
        .join(User, User.id == Verdict.user_id)
        .join(chain, chain.c.joint_id == Joint.id)
        .where(
            Verdict.verdict.in_([VerdictKind.CONFIRMED_DEFECT, VerdictKind.FALSE_CALL])
        )
    )
    out = []
    for joint, insp, serial, side, product, verdict, who, n in s.execute(
        _located(stmt, model_version)
    ):
        defective = verdict.verdict is VerdictKind.CONFIRMED_DEFECT and (
            verdict.ipc_condition is not IpcCondition.PROCESS_INDICATOR
        )
        code = verdict.defect_code.value if defective and verdict.defect_code else None
        out.append(
            _joint(
                joint, insp, serial, side, product, int(defective), code, "verdict",
                who, verdict.created_at, corrected=int(n) > 1,
            )
        )  # fmt: skip
    return out


def _from_rework(s: Session, model_version: str | None) -> list[VerifiedJoint]:
    """Defect-region joints settled by the technician (no verdict of their own)."""
    has_verdict = select(Verdict.joint_id)
    stmt = (
        select(*_base_columns(), ReworkItem, User.name)
        .select_from(Joint)
        .join(ReworkItem, ReworkItem.joint_id == Joint.id)
        .outerjoin(User, User.id == ReworkItem.technician_id)
        .where(
            Joint.region == Region.DEFECT,
            ReworkItem.source == ReworkSource.MODEL,
            ReworkItem.status.in_(list(_TECHNICIAN_LABEL)),
            Joint.id.not_in(has_verdict),
        )
    )
    out = []
    for joint, insp, serial, side, product, item, who in s.execute(
        _located(stmt, model_version)
    ):
        out.append(
            _joint(
                joint, insp, serial, side, product, _TECHNICIAN_LABEL[item.status],
                None, "rework", who or "", item.outcome_at, corrected=False,
            )
        )  # fmt: skip
    return out


def _joint(
    joint: Joint,
    insp: Inspection,
    serial: str,
    side: str,
    product: str,
    label: int,
    code: str | None,
    source: str,
    who: str,
    when: datetime | None,
    *,
    corrected: bool,
) -> VerifiedJoint:
    return VerifiedJoint(
        joint_id=joint.id,
        label=label,
        defect_code=DefectCode(code).value if code else None,
        source=source,
        p=float(joint.p),
        region=Region(joint.region).value,
        model_version=insp.model_version,
        t_lo=float(insp.t_lo),
        t_hi=float(insp.t_hi),
        crop_path=joint.crop_path,
        board_serial=serial,
        product=product,
        side=side,
        refdes=joint.refdes,
        pin=joint.pin,
        joint_type=joint.joint_type.value,
        package=joint.package,
        inspection_id=insp.id,
        decided_by=who,
        decided_at=when,
        corrected=corrected,
    )
