"""ORM row -> DTO conversions (called inside the session that loaded the rows)."""

from __future__ import annotations

from db.dto import (
    AuditEntryDTO,
    BoardDTO,
    ExplanationDTO,
    InspectionDTO,
    ModelVersionDTO,
    ReviewItem,
    ReworkItemDTO,
    ShiftDTO,
    UserDTO,
    VerdictDTO,
)
from db.enums import IpcClass, Region
from db.models import (
    AuditEntry,
    Board,
    Explanation,
    Inspection,
    Joint,
    ModelVersion,
    Product,
    ReworkItem,
    Shift,
    User,
    Verdict,
)
from inference.types import BBox


def user_dto(u: User) -> UserDTO:
    """A user without its PIN hash."""
    return UserDTO(
        id=u.id, name=u.name, role=u.role, active=u.active, created_at=u.created_at
    )


def shift_dto(sh: Shift) -> ShiftDTO:
    """A shift with its user's name."""
    return ShiftDTO(
        id=sh.id,
        user_id=sh.user_id,
        user_name=sh.user.name,
        started_at=sh.started_at,
        ended_at=sh.ended_at,
    )


def board_dto(b: Board) -> BoardDTO:
    """A board with its product name."""
    return BoardDTO(
        id=b.id,
        serial=b.serial,
        product=b.product.name,
        side=b.side,
        image_path=b.image_path,
        image_sha256=b.image_sha256,
        ingested_at=b.ingested_at,
        ingested_by=b.ingested_by.name if b.ingested_by else None,
        reinspection_requested_at=b.reinspection_requested_at,
    )


def explanation_dto(e: Explanation | None) -> ExplanationDTO | None:
    """An explanation, or None."""
    if e is None:
        return None
    return ExplanationDTO(
        id=e.id,
        joint_id=e.joint_id,
        overlay_path=e.overlay_path,
        heatmap_path=e.heatmap_path,
        mask_path=e.mask_path,
        p_before=e.p_before,
        p_after=e.p_after,
        n_factors=e.n_factors,
        forward_passes=e.forward_passes,
        explainer_version=e.explainer_version,
    )


def inspection_dto(
    i: Inspection, counts: dict[Region, int], n_rework: int
) -> InspectionDTO:
    """An inspection with per-region counts."""
    return InspectionDTO(
        id=i.id,
        board_id=i.board_id,
        board_serial=i.board.serial,
        product=i.board.product.name,
        image_path=i.image_path,
        model_version=i.model_version,
        t_lo=i.t_lo,
        t_hi=i.t_hi,
        status=i.status,
        started_at=i.started_at,
        finished_at=i.finished_at,
        error=i.error,
        n_joints=sum(counts.values()),
        n_defect=counts.get(Region.DEFECT, 0),
        n_possible_defect=counts.get(Region.POSSIBLE_DEFECT, 0),
        n_non_defect=counts.get(Region.NON_DEFECT, 0),
        n_rework_items=n_rework,
    )


def bbox_of(j: Joint) -> BBox:
    """The joint's box."""
    return BBox(x=j.bbox_x, y=j.bbox_y, w=j.bbox_w, h=j.bbox_h)


def review_item(
    j: Joint, i: Inspection, b: Board, p: Product, e: Explanation | None
) -> ReviewItem:
    """A review-queue entry."""
    return ReviewItem(
        joint_id=j.id,
        inspection_id=i.id,
        board_id=b.id,
        board_serial=b.serial,
        product=p.name,
        board_image_path=i.image_path,
        refdes=j.refdes,
        pin=j.pin,
        joint_type=j.joint_type,
        package=j.package,
        bbox=bbox_of(j),
        crop_path=j.crop_path,
        p=j.p,
        region=j.region,
        model_version=i.model_version,
        t_lo=i.t_lo,
        t_hi=i.t_hi,
        explanation=explanation_dto(e),
    )


def verdict_dto(v: Verdict) -> VerdictDTO:
    """A verdict row."""
    return VerdictDTO(
        id=v.id,
        joint_id=v.joint_id,
        user_id=v.user_id,
        user_name=v.user.name,
        verdict=v.verdict,
        defect_code=v.defect_code,
        ipc_condition=v.ipc_condition,
        ipc_class=IpcClass(v.ipc_class) if v.ipc_class is not None else None,
        note=v.note,
        created_at=v.created_at,
        seconds_spent=v.seconds_spent,
        shift_id=v.shift_id,
        model_version=v.model_version,
        t_lo=v.t_lo,
        t_hi=v.t_hi,
        supersedes_id=v.supersedes_id,
    )


def rework_dto(r: ReworkItem, source_verdict: Verdict | None) -> ReworkItemDTO:
    """A rework item with the joint, board and inspector's verdict it came from."""
    j = r.joint
    i = j.inspection
    b = i.board
    return ReworkItemDTO(
        id=r.id,
        joint_id=j.id,
        board_id=b.id,
        board_serial=b.serial,
        product=b.product.name,
        board_image_path=i.image_path,
        refdes=j.refdes,
        pin=j.pin,
        bbox=bbox_of(j),
        crop_path=j.crop_path,
        p=j.p,
        region=j.region,
        source=r.source,
        defect_code=source_verdict.defect_code if source_verdict else None,
        inspector_note=source_verdict.note if source_verdict else "",
        status=r.status,
        technician_id=r.technician_id,
        technician_name=r.technician.name if r.technician else None,
        outcome_at=r.outcome_at,
        note=r.note,
        created_at=r.created_at,
        explanation=explanation_dto(j.explanation),
    )


def audit_dto(a: AuditEntry) -> AuditEntryDTO:
    """An audit row with the user's name."""
    return AuditEntryDTO(
        id=a.id,
        created_at=a.created_at,
        user_id=a.user_id,
        user_name=a.user.name if a.user else None,
        action=a.action,
        entity=a.entity,
        entity_id=a.entity_id,
        details=dict(a.details or {}),
    )


def model_dto(m: ModelVersion) -> ModelVersionDTO:
    """A model-registry row."""
    return ModelVersionDTO(
        id=m.id,
        version=m.version,
        path=m.path,
        sha256=m.sha256,
        card=dict(m.card or {}),
        status=m.status,
        registered_at=m.registered_at,
        promoted_at=m.promoted_at,
    )
