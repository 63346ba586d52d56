"""ORM models of the inspection database (product.md §5).

Tables are plural, classes singular. Every datetime is timezone-aware UTC. The ORM rows
never leave `db/`: services turn them into the dataclasses of `db.dto`.

Verdicts are append-only: a correction or an undo is a new row whose `supersedes_id`
points at the row it replaces. The rows of one joint form a single chain (a partial
unique index allows one chain start per joint, a unique `supersedes_id` allows one
successor per row), so two stations can never both "correct" the same verdict.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from db.base import Base, UTCDateTime, utcnow
from db.enums import (
    DefectCode,
    InspectionStatus,
    IpcCondition,
    JointType,
    ModelStatus,
    Region,
    ReworkSource,
    ReworkStatus,
    Role,
    VerdictKind,
)
from db.errors import AppendOnlyError


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    """A portable enum column: VARCHAR holding the member's value, no DB enum type."""
    return sa.Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _created() -> Mapped[datetime]:
    return mapped_column(
        UTCDateTime(), default=utcnow, server_default=sa.func.current_timestamp()
    )


class User(Base):
    """A person who logs in with a name and a PIN."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    # "scrypt$n$r$p$<salt hex>$<hash hex>"; the PIN itself is never stored.
    pin_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = _created()

    shifts: Mapped[list[Shift]] = relationship(back_populates="user")


class Shift(Base):
    """A user's working session: opened at login, closed at logout or handover."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    started_at: Mapped[datetime] = _created()
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="shifts")


class Product(Base):
    """A product (assembly) whose boards are inspected."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = _created()

    recipes: Mapped[list[Recipe]] = relationship(back_populates="product")
    boards: Mapped[list[Board]] = relationship(back_populates="product")


class Recipe(Base):
    """A board recipe file (fiducials and joint boxes) of a product."""

    __tablename__ = "recipes"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()

    product: Mapped[Product] = relationship(back_populates="recipes")


class Board(Base):
    """One physical board side, identified by product, serial and side.

    The image columns hold the latest capture; each inspection keeps its own copy.
    """

    __tablename__ = "boards"
    __table_args__ = (UniqueConstraint("product_id", "serial", "side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    serial: Mapped[str] = mapped_column(String(120), index=True)
    side: Mapped[str] = mapped_column(String(16), default="top", server_default="top")
    image_path: Mapped[str] = mapped_column(Text)
    image_sha256: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = _created()
    ingested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reinspection_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reinspection_requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    product: Mapped[Product] = relationship(back_populates="boards")
    ingested_by: Mapped[User | None] = relationship(foreign_keys=[ingested_by_id])
    inspections: Mapped[list[Inspection]] = relationship(back_populates="board")


class Inspection(Base):
    """One run of the detector and classifier over a board image."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), index=True
    )
    recipe_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipes.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    image_path: Mapped[str] = mapped_column(Text)
    image_sha256: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(80))
    t_lo: Mapped[float]
    t_hi: Mapped[float]
    status: Mapped[InspectionStatus] = mapped_column(
        _enum(InspectionStatus), default=InspectionStatus.RUNNING, index=True
    )
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    pid: Mapped[int | None]
    started_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    board: Mapped[Board] = relationship(back_populates="inspections")
    joints: Mapped[list[Joint]] = relationship(back_populates="inspection")


class Joint(Base):
    """One solder joint found by an inspection, with its model score and region."""

    __tablename__ = "joints"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    board_id: Mapped[int] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), index=True
    )
    refdes: Mapped[str] = mapped_column(String(40), default="", server_default="")
    pin: Mapped[str] = mapped_column(String(20), default="", server_default="")
    joint_type: Mapped[JointType] = mapped_column(_enum(JointType))
    package: Mapped[str] = mapped_column(String(60), default="", server_default="")
    bbox_x: Mapped[int]
    bbox_y: Mapped[int]
    bbox_w: Mapped[int]
    bbox_h: Mapped[int]
    crop_path: Mapped[str] = mapped_column(Text, default="", server_default="")
    p: Mapped[float]
    region: Mapped[Region] = mapped_column(_enum(Region), index=True)

    inspection: Mapped[Inspection] = relationship(back_populates="joints")
    explanation: Mapped[Explanation | None] = relationship(back_populates="joint")


class Explanation(Base):
    """The critical-factor explanation of a joint: artefact files and numbers."""

    __tablename__ = "explanations"

    id: Mapped[int] = mapped_column(primary_key=True)
    joint_id: Mapped[int] = mapped_column(
        ForeignKey("joints.id", ondelete="CASCADE"), unique=True
    )
    overlay_path: Mapped[str] = mapped_column(Text, default="", server_default="")
    heatmap_path: Mapped[str] = mapped_column(Text, default="", server_default="")
    mask_path: Mapped[str] = mapped_column(Text, default="", server_default="")
    p_before: Mapped[float]
    p_after: Mapped[float]
    n_factors: Mapped[int]
    forward_passes: Mapped[int]
    explainer_version: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = _created()

    joint: Mapped[Joint] = relationship(back_populates="explanation")


class Verdict(Base):
    """An inspector's call on a joint. Append-only: never updated, never deleted."""

    __tablename__ = "verdicts"
    __table_args__ = (
        # One chain start per joint: the first verdict has no predecessor.
        Index(
            "uq_verdicts_joint_id_chain_start",
            "joint_id",
            unique=True,
            sqlite_where=sa.text("supersedes_id IS NULL"),
            postgresql_where=sa.text("supersedes_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    joint_id: Mapped[int] = mapped_column(
        ForeignKey("joints.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    shift_id: Mapped[int | None] = mapped_column(
        ForeignKey("shifts.id", ondelete="SET NULL")
    )
    verdict: Mapped[VerdictKind] = mapped_column(_enum(VerdictKind))
    defect_code: Mapped[DefectCode | None] = mapped_column(_enum(DefectCode))
    ipc_condition: Mapped[IpcCondition | None] = mapped_column(_enum(IpcCondition))
    ipc_class: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = _created()
    seconds_spent: Mapped[float | None]
    model_version: Mapped[str] = mapped_column(String(80))
    t_lo: Mapped[float]
    t_hi: Mapped[float]
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("verdicts.id", ondelete="RESTRICT"), unique=True
    )

    joint: Mapped[Joint] = relationship()
    user: Mapped[User] = relationship()


class ReworkItem(Base):
    """A joint on the repair list and what the technician did with it."""

    __tablename__ = "rework_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    joint_id: Mapped[int] = mapped_column(
        ForeignKey("joints.id", ondelete="CASCADE"), index=True
    )
    verdict_id: Mapped[int | None] = mapped_column(
        ForeignKey("verdicts.id", ondelete="SET NULL")
    )
    source: Mapped[ReworkSource] = mapped_column(_enum(ReworkSource))
    status: Mapped[ReworkStatus] = mapped_column(
        _enum(ReworkStatus), default=ReworkStatus.OPEN, index=True
    )
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = _created()

    joint: Mapped[Joint] = relationship()
    technician: Mapped[User | None] = relationship()


class AuditEntry(Base):
    """Who did what, when (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(),
        default=utcnow,
        server_default=sa.func.current_timestamp(),
        index=True,
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(60), default="", server_default="")
    entity_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    user: Mapped[User | None] = relationship()


class ModelVersion(Base):
    """A registered classifier version (model registry)."""

    __tablename__ = "model_registry"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    card: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[ModelStatus] = mapped_column(
        _enum(ModelStatus), default=ModelStatus.CANDIDATE
    )
    registered_at: Mapped[datetime] = _created()
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClaimStatus:
    """Values of ``board_claims.status``."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"


class BoardClaim(Base):
    """One image file seen by a watching station, and who took it."""

    __tablename__ = "board_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), unique=True)
    status: Mapped[str] = mapped_column(
        String(16), default=ClaimStatus.PENDING, server_default=ClaimStatus.PENDING
    )
    station_id: Mapped[str] = mapped_column(String(120), default="", server_default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str] = mapped_column(Text, default="", server_default="")


class VigilanceSeed(Base):
    """A known joint seeded into the review queue to measure inspector vigilance.

    The seeded `Joint` row looks like any other queued joint; only this row says it is
    a test and what its true answer is. Seeded joints never reach rework or the
    production report figures, and the reviewer learns which joint was seeded only
    after giving the verdict.
    """

    __tablename__ = "vigilance_seeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    joint_id: Mapped[int] = mapped_column(
        ForeignKey("joints.id", ondelete="CASCADE"), unique=True
    )
    is_defect: Mapped[bool]
    defect_code: Mapped[DefectCode | None] = mapped_column(_enum(DefectCode))
    source: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = _created()

    joint: Mapped[Joint] = relationship()


class DriftReference(Base):
    """The reference window a model version's drift charts are measured against.

    The newest row of a version is its reference; older rows stay as history.
    """

    __tablename__ = "drift_references"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version: Mapped[str] = mapped_column(String(80), index=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    set_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = _created()


@sa.event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: object, _instances: object) -> None:
    """Refuse, in the ORM too, to change or delete verdict and audit rows.

    (Migration 0002 adds database triggers that refuse the same on any connection.)
    """
    for obj in session.deleted:
        if isinstance(obj, Verdict | AuditEntry):
            msg = f"{type(obj).__tablename__} is append-only: rows are never deleted"
            raise AppendOnlyError(msg)
    for obj in session.dirty:
        if isinstance(obj, Verdict | AuditEntry) and session.is_modified(obj):
            msg = f"{type(obj).__tablename__} is append-only: rows are never updated"
            raise AppendOnlyError(msg)
