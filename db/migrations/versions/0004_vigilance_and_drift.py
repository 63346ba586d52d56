"""Vigilance seeds and drift reference windows (the field loop, issue 8).

Written by hand to match `db.models.VigilanceSeed` and `db.models.DriftReference`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vigilance_seeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("joint_id", sa.Integer(), nullable=False),
        sa.Column("is_defect", sa.Boolean(), nullable=False),
        sa.Column("defect_code", sa.String(length=32), nullable=True),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["joint_id"],
            ["joints.id"],
            name=op.f("fk_vigilance_seeds_joint_id_joints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vigilance_seeds")),
        sa.UniqueConstraint("joint_id", name=op.f("uq_vigilance_seeds_joint_id")),
    )
    op.create_table(
        "drift_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["users.id"],
            name=op.f("fk_drift_references_set_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_references")),
    )
    op.create_index(
        op.f("ix_drift_references_model_version"),
        "drift_references",
        ["model_version"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_drift_references_model_version"), table_name="drift_references"
    )
    op.drop_table("drift_references")
    op.drop_table("vigilance_seeds")
