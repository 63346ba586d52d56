"""Query helpers: each takes a Session, none commits, none returns DTOs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from db.base import Base, utcnow
from db.enums import InspectionStatus, Region, ReworkStatus, Role, VerdictKind
from db.errors import NotFoundError, PermissionDeniedError
from db.models import (
    AuditEntry,
    Board,
    Explanation,
    Inspection,
    Joint,
    Product,
    ReworkItem,
    User,
    Verdict,
    VigilanceSeed,
)

M = TypeVar("M", bound=Base)

SUPERVISOR_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def get_or_raise(s: Session, model: type[M], row_id: int, what: str) -> M:
    """Load a row by primary key or raise `NotFoundError` naming it."""
    row = s.get(model, row_id)
    if row is None:
        msg = f"{what} {row_id} does not exist"
        raise NotFoundError(msg)
    return row


def acting_user(s: Session, user_id: int, roles: frozenset[Role] | None = None) -> User:
    """Reload the acting user and check that they are active (and hold one of `roles`).

    The check runs against the database, not the caller's DTO, so a user deactivated
    or demoted on another station loses the right at once.
    """
    user = s.get(User, user_id)
    if user is None or not user.active:
        msg = "your account is not active; log in again"
        raise PermissionDeniedError(msg)
    if roles is not None and user.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        msg = (
            f"{user.name} ({user.role.value}) may not do this; needs one of: {allowed}"
        )
        raise PermissionDeniedError(msg)
    return user


def add_audit(
    s: Session,
    user_id: int | None,
    action: str,
    entity: str = "",
    entity_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an audit row in the caller's transaction."""
    entry = AuditEntry(
        user_id=user_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=dict(details or {}),
        created_at=utcnow(),
    )
    s.add(entry)
    s.flush()
    return entry


def user_by_name(s: Session, name: str) -> User | None:
    """The user with this exact name, or None."""
    return s.scalars(select(User).where(User.name == name)).one_or_none()


def count_users(s: Session) -> int:
    """How many users exist (active or not)."""
    return int(s.scalar(select(func.count()).select_from(User)) or 0)


def product_by_name(s: Session, name: str, *, create: bool = False) -> Product | None:
    """The product with this name; created when `create` is true and it is missing."""
    product = s.scalars(select(Product).where(Product.name == name)).one_or_none()
    if product is None and create:
        product = Product(name=name, description="", created_at=utcnow())
        s.add(product)
        s.flush()
    return product


def _has_successor() -> Any:
    succ = aliased(Verdict)
    return exists().where(succ.supersedes_id == Verdict.id)


def head_verdict(s: Session, joint_id: int) -> Verdict | None:
    """The last row of the joint's verdict chain (may be an `undone` row), or None."""
    return s.scalars(
        select(Verdict).where(Verdict.joint_id == joint_id, ~_has_successor())
    ).one_or_none()


def head_verdicts_subquery() -> Any:
    """A subquery of chain heads: columns `joint_id`, `verdict`, `verdict_id`."""
    return (
        select(
            Verdict.joint_id.label("joint_id"),
            Verdict.verdict.label("verdict"),
            Verdict.id.label("verdict_id"),
        )
        .where(~_has_successor())
        .subquery("heads")
    )


def latest_user_head_verdict(s: Session, user_id: int) -> Verdict | None:
    """The user's newest verdict that is still its chain's head (and not undone)."""
    return s.scalars(
        select(Verdict)
        .where(
            Verdict.user_id == user_id,
            Verdict.verdict != VerdictKind.UNDONE,
            ~_has_successor(),
        )
        .order_by(Verdict.id.desc())
        .limit(1)
    ).one_or_none()


def latest_done_inspection_id() -> Any:
    """Correlated subquery: id of the newest finished inspection of a joint's board."""
    latest = aliased(Inspection)
    return (
        select(func.max(latest.id))
        .where(
            latest.board_id == Joint.board_id, latest.status == InspectionStatus.DONE
        )
        .correlate(Joint)
        .scalar_subquery()
    )


def review_rows() -> Any:
    """Joint rows joined with what a review item shows (unfiltered)."""
    return (
        select(Joint, Inspection, Board, Product, Explanation)
        .join(Inspection, Joint.inspection_id == Inspection.id)
        .join(Board, Joint.board_id == Board.id)
        .join(Product, Board.product_id == Product.id)
        .outerjoin(Explanation, Explanation.joint_id == Joint.id)
    )


def not_seeded(joint_id: Any) -> Any:
    """A WHERE clause: the joint (column or correlated expression) is no vigilance seed.

    Seeded joints (`VigilanceSeed`) are tests of the inspector, not production: every
    rework, report and model-feedback query filters them out with this.
    """
    return ~exists().where(VigilanceSeed.joint_id == joint_id)


def seed_joint_ids() -> Any:
    """A select of the ids of every seeded (vigilance test) joint."""
    return select(VigilanceSeed.joint_id)


def is_seeded(s: Session, joint_id: int) -> bool:
    """Whether the joint is a vigilance seed."""
    return (
        s.scalar(select(VigilanceSeed.id).where(VigilanceSeed.joint_id == joint_id))
        is not None
    )


def open_rework_item(s: Session, joint_id: int) -> ReworkItem | None:
    """The open rework item of a joint, if any."""
    return s.scalars(
        select(ReworkItem)
        .where(ReworkItem.joint_id == joint_id, ReworkItem.status == ReworkStatus.OPEN)
        .order_by(ReworkItem.id.desc())
        .limit(1)
    ).first()


def inspection_counts(s: Session, inspection_id: int) -> dict[Region, int]:
    """Joint counts per region of one inspection."""
    rows = s.execute(
        select(Joint.region, func.count())
        .where(Joint.inspection_id == inspection_id, not_seeded(Joint.id))
        .group_by(Joint.region)
    ).all()
    return {Region(r): int(n) for r, n in rows}


def rework_count(s: Session, inspection_id: int) -> int:
    """Rework items of the joints of one inspection."""
    return int(
        s.scalar(
            select(func.count())
            .select_from(ReworkItem)
            .join(Joint, ReworkItem.joint_id == Joint.id)
            .where(Joint.inspection_id == inspection_id, not_seeded(Joint.id))
        )
        or 0
    )


def aware(value: datetime | None, what: str) -> datetime | None:
    """Refuse naive datetimes from callers (all times are UTC-aware)."""
    if value is not None and value.tzinfo is None:
        msg = f"{what} must be timezone-aware (UTC), got {value!r}"
        raise ValueError(msg)
    return value
