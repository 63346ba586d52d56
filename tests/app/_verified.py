"""Build `VerifiedJoint` values by hand (curation tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from db.services.verified import VerifiedJoint


def verified_joint(joint_id: int, label: int, p: float, crop: str) -> VerifiedJoint:
    """A verified joint on board SN1 of product P with the given label and p."""
    return VerifiedJoint(
        joint_id=joint_id,
        label=label,
        defect_code="bridge" if label else None,
        source="verdict",
        p=p,
        region="possible_defect",
        model_version="v1",
        t_lo=0.1,
        t_hi=0.9,
        crop_path=crop,
        board_serial="SN1",
        product="P",
        side="top",
        refdes=f"R{joint_id}",
        pin="1",
        joint_type="smd",
        package="0402",
        inspection_id=1,
        decided_by="Ivan",
        decided_at=datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
        corrected=False,
    )
