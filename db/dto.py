"""Frozen dataclasses handed to the app (never ORM rows), and the inputs of services."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from db.enums import (
    DefectCode,
    InspectionStatus,
    IpcClass,
    IpcCondition,
    JointType,
    ModelStatus,
    Region,
    ReworkSource,
    ReworkStatus,
    Role,
    VerdictKind,
)
from inference.types import BBox

# ----------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class UserDTO:
    """A user (never carries the PIN hash)."""

    id: int
    name: str
    role: Role
    active: bool
    created_at: datetime

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins may correct others' verdicts and export reports."""
        return self.role in {Role.SUPERVISOR, Role.ADMIN}


@dataclass(frozen=True)
class ShiftDTO:
    """A user's shift; `ended_at` is None while it is open."""

    id: int
    user_id: int
    user_name: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def is_open(self) -> bool:
        """True while the shift has not been closed."""
        return self.ended_at is None


@dataclass(frozen=True)
class BoardDTO:
    """A board side and its latest capture."""

    id: int
    serial: str
    product: str
    side: str
    image_path: str
    image_sha256: str
    ingested_at: datetime
    ingested_by: str | None
    reinspection_requested_at: datetime | None


@dataclass(frozen=True)
class ExplanationDTO:
    """A joint's explanation: artefact files and its numbers."""

    id: int
    joint_id: int
    overlay_path: str
    heatmap_path: str
    mask_path: str
    p_before: float
    p_after: float
    n_factors: int
    forward_passes: int
    explainer_version: str


@dataclass(frozen=True)
class InspectionDTO:
    """One inspection run with the counts of its joints per region."""

    id: int
    board_id: int
    board_serial: str
    product: str
    image_path: str
    model_version: str
    t_lo: float
    t_hi: float
    status: InspectionStatus
    started_at: datetime
    finished_at: datetime | None
    error: str
    n_joints: int
    n_defect: int
    n_possible_defect: int
    n_non_defect: int
    n_rework_items: int


@dataclass(frozen=True)
class ReviewItem:
    """A possibly defective joint waiting for (or shown with) a verdict."""

    joint_id: int
    inspection_id: int
    board_id: int
    board_serial: str
    product: str
    board_image_path: str
    refdes: str
    pin: str
    joint_type: JointType
    package: str
    bbox: BBox
    crop_path: str
    p: float
    region: Region
    model_version: str
    t_lo: float
    t_hi: float
    explanation: ExplanationDTO | None


@dataclass(frozen=True)
class VerdictDTO:
    """One verdict row. `supersedes_id` names the row it replaced."""

    id: int
    joint_id: int
    user_id: int
    user_name: str
    verdict: VerdictKind
    defect_code: DefectCode | None
    ipc_condition: IpcCondition | None
    ipc_class: IpcClass | None
    note: str
    created_at: datetime
    seconds_spent: float | None
    shift_id: int | None
    model_version: str
    t_lo: float
    t_hi: float
    supersedes_id: int | None


@dataclass(frozen=True)
class ReworkItemDTO:
    """A repair-list entry with what the technician needs to see."""

    id: int
    joint_id: int
    board_id: int
    board_serial: str
    product: str
    board_image_path: str
    refdes: str
    pin: str
    bbox: BBox
    crop_path: str
    p: float
    region: Region
    source: ReworkSource
    defect_code: DefectCode | None
    inspector_note: str
    status: ReworkStatus
    technician_id: int | None
    technician_name: str | None
    outcome_at: datetime | None
    note: str
    created_at: datetime
    explanation: ExplanationDTO | None


@dataclass(frozen=True)
class AuditEntryDTO:
    """One audit-log line."""

    id: int
    created_at: datetime
    user_id: int | None
    user_name: str | None
    action: str
    entity: str
    entity_id: int | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class ModelVersionDTO:
    """A registered model version."""

    id: int
    version: str
    path: str
    sha256: str
    card: Mapping[str, Any]
    status: ModelStatus
    registered_at: datetime
    promoted_at: datetime | None


@dataclass(frozen=True)
class InspectorRow:
    """Per-inspector figures of a shift report (current verdicts only)."""

    user_name: str
    verdicts: int
    confirmed_defects: int
    false_calls: int
    process_indicators: int
    skipped: int
    review_seconds_total: float
    review_seconds_per_verdict: float | None
    operator_model_agreement: float | None


@dataclass(frozen=True)
class ShiftReport:
    """The figures of a shift or a date range (product.md §6); see `ReportService`.

    Ratios are None when their denominator is zero.
    """

    period_start: datetime
    period_end: datetime
    shift_id: int | None
    boards_inspected: int
    joints_inspected: int
    calls: int
    reviewed: int
    confirmed_defects: int
    false_calls: int
    process_indicators: int
    skipped: int
    pending_calls: int
    false_call_ppm: float | None
    false_call_ratio: float | None
    model_escapes: int
    operator_escapes: int
    model_escape_ppm: float | None
    operator_escape_ppm: float | None
    dpmo: float | None
    fpy: float | None
    review_seconds_total: float
    review_seconds_per_call: float | None
    calls_per_board: float | None
    operator_model_agreement: float | None
    pareto_by_code: list[tuple[str, int]] = field(default_factory=list)
    pareto_by_refdes: list[tuple[str, int]] = field(default_factory=list)
    per_inspector: list[InspectorRow] = field(default_factory=list)
    generated_at: datetime | None = None
    generated_by: str = ""

    def figures(self) -> dict[str, Any]:
        """The scalar figures as a JSON-ready dict (datetimes as ISO 8601)."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if name in {"pareto_by_code", "pareto_by_refdes", "per_inspector"}:
                continue
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        out = self.figures()
        out["pareto_by_code"] = [[c, n] for c, n in self.pareto_by_code]
        out["pareto_by_refdes"] = [[r, n] for r, n in self.pareto_by_refdes]
        out["per_inspector"] = [dict(row.__dict__) for row in self.per_inspector]
        return out


# ------------------------------------------------------------------------------ inputs


class QueueSort(enum.StrEnum):
    """Orderings of the review queue."""

    P_DESC = "p_desc"
    P_ASC = "p_asc"
    BOARD = "board"
    REFDES = "refdes"
    OLDEST = "oldest"


@dataclass(frozen=True)
class ReviewFilter:
    """Which joints the review queue shows, and in what order.

    Attributes:
        board_id: only this board.
        board_serial: only boards whose serial contains this text.
        product: only this product (exact name).
        refdes: only joints whose refdes contains this text (case-insensitive).
        p_min: only joints with p >= p_min.
        p_max: only joints with p <= p_max.
        sort: the order.
        include_skipped: also show joints whose current verdict is `skipped`
            (escalated); by default a skip takes the joint out of the queue.
    """

    board_id: int | None = None
    board_serial: str | None = None
    product: str | None = None
    refdes: str | None = None
    p_min: float | None = None
    p_max: float | None = None
    sort: QueueSort = QueueSort.P_DESC
    include_skipped: bool = False


@dataclass(frozen=True)
class ExplanationRecord:
    """The explanation of one joint, as the explainer produced it."""

    p_before: float
    p_after: float
    n_factors: int
    forward_passes: int
    explainer_version: str
    overlay_path: str | Path = ""
    heatmap_path: str | Path = ""
    mask_path: str | Path = ""


@dataclass(frozen=True)
class JointRecord:
    """One joint of an inspection, as the pipeline produced it.

    `region` defaults to `region_of(p, t_lo, t_hi)` of the inspection.
    """

    bbox: BBox
    p: float
    refdes: str = ""
    pin: str = ""
    joint_type: JointType = JointType.SMD
    package: str = ""
    crop_path: str | Path = ""
    region: Region | None = None
    explanation: ExplanationRecord | None = None


JointRecords = Sequence[JointRecord]
