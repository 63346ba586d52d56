"""Plain value types shared by the inference engine, the database layer and the app.

This module imports nothing heavy (no torch, no Qt) so `db/` may use it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Region(enum.StrEnum):
    """Confidence region of a joint (algorithms.md §3.2)."""

    DEFECT = "defect"
    POSSIBLE_DEFECT = "possible_defect"
    NON_DEFECT = "non_defect"


class JointType(enum.StrEnum):
    """Mounting technology of a joint."""

    SMD = "smd"
    THT = "tht"


class DefectCode(enum.StrEnum):
    """Defect codes of product.md §4 (the paper's classes plus common AOI classes)."""

    INSUFFICIENT_SOLDER = "insufficient_solder"
    EXCESS_SOLDER = "excess_solder"
    BRIDGE = "bridge"
    SOLDER_BALL = "solder_ball"
    COLD_JOINT = "cold_joint"
    POOR_WETTING = "poor_wetting"
    FRACTURED_JOINT = "fractured_joint"
    DISTURBED_SOLDER = "disturbed_solder"
    BURN = "burn"
    FLUX_RESIDUE = "flux_residue"
    FOREIGN_OBJECT = "foreign_object"
    PAD_DAMAGE = "pad_damage"
    LIFTED_LEAD = "lifted_lead"
    MISSING_COMPONENT = "missing_component"
    TOMBSTONE = "tombstone"
    SHIFTED_COMPONENT = "shifted_component"
    VOID_PINHOLE = "void_pinhole"
    SIDE_OVERHANG = "side_overhang"
    OTHER = "other"


def region_of(p: float, t_lo: float, t_hi: float) -> Region:
    """Sort a defect probability into its confidence region.

    Args:
        p: P(defective) in [0, 1].
        t_lo: below this the joint is non-defective.
        t_hi: at or above this the joint is a defect.

    Returns:
        `defect` if p >= t_hi, `non_defect` if p < t_lo, else `possible_defect`.
    """
    if p >= t_hi:
        return Region.DEFECT
    if p < t_lo:
        return Region.NON_DEFECT
    return Region.POSSIBLE_DEFECT


@dataclass(frozen=True)
class BBox:
    """Axis-aligned box in pixel coordinates of the board image (x, y = top-left)."""

    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class JointBox:
    """One detected (or recipe-projected) joint on a board image."""

    bbox: BBox
    joint_type: JointType = JointType.SMD
    refdes: str = ""
    pin: str = ""
    package: str = ""
    score: float = 1.0
