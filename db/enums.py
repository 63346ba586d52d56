"""Enumerations stored in the database (values are the strings stored)."""

from __future__ import annotations

import enum

from inference.types import DefectCode, JointType, Region


class Role(enum.StrEnum):
    """What a user may do (product.md §2)."""

    INSPECTOR = "inspector"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    ENGINEER = "engineer"
    ADMIN = "admin"


class VerdictKind(enum.StrEnum):
    """An inspector's call on a joint.

    `UNDONE` is written by an undo: it supersedes the undone verdict and sends the joint
    back to the review queue.
    """

    CONFIRMED_DEFECT = "confirmed_defect"
    FALSE_CALL = "false_call"
    SKIPPED = "skipped"
    UNDONE = "undone"


class IpcCondition(enum.StrEnum):
    """IPC-A-610 acceptability condition."""

    TARGET = "target"
    ACCEPTABLE = "acceptable"
    PROCESS_INDICATOR = "process_indicator"
    DEFECT = "defect"


class IpcClass(enum.IntEnum):
    """IPC-A-610 product class."""

    GENERAL = 1
    DEDICATED_SERVICE = 2
    HIGH_PERFORMANCE = 3


class InspectionStatus(enum.StrEnum):
    """Life cycle of one inspection run."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReworkStatus(enum.StrEnum):
    """State of a rework item.

    `CANCELLED` is set when the verdict that created the item was corrected or undone
    before the technician acted on it.
    """

    OPEN = "open"
    REPAIRED = "repaired"
    SCRAPPED = "scrapped"
    NOT_A_DEFECT = "not_a_defect"
    CANCELLED = "cancelled"


class ReworkSource(enum.StrEnum):
    """Why a rework item exists."""

    MODEL = "model"  # the joint fell in the `defect` region
    VERDICT = "verdict"  # an inspector confirmed a defect


class ModelStatus(enum.StrEnum):
    """State of a registered model version."""

    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


__all__ = [
    "DefectCode",
    "InspectionStatus",
    "IpcClass",
    "IpcCondition",
    "JointType",
    "ModelStatus",
    "Region",
    "ReworkSource",
    "ReworkStatus",
    "Role",
    "VerdictKind",
]
