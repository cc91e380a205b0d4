"""State history, daily availability and API maintenance windows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create state_changes, availability_daily and maintenance_windows."""
    op.create_table(
        "state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_kind", sa.String(length=16), nullable=False),
        sa.Column("object_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("root_cause", sa.String(length=255), nullable=True),
        sa.Column("flapping", sa.Boolean(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_state_changes"),
    )
    op.create_index("ix_state_changes_ts", "state_changes", ["ts"])
    op.create_index("ix_state_changes_object", "state_changes", ["object_kind", "object_name", "ts"])
    op.create_table(
        "availability_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("object_kind", sa.String(length=16), nullable=False),
        sa.Column("object_name", sa.String(length=255), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("up_seconds", sa.Float(), nullable=False),
        sa.Column("down_seconds", sa.Float(), nullable=False),
        sa.Column("unreachable_seconds", sa.Float(), nullable=False),
        sa.Column("maintenance_seconds", sa.Float(), nullable=False),
        sa.Column("unknown_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_availability_daily"),
        sa.UniqueConstraint("day", "object_kind", "object_name", name="uq_availability_daily_object"),
    )
    op.create_index("ix_availability_daily_day", "availability_daily", ["day"])
    op.create_index("ix_availability_daily_unit_code", "availability_daily", ["unit_code"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("objects", sa.String(length=4096), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_windows"),
    )
    op.create_index("ix_maintenance_windows_ends_at", "maintenance_windows", ["ends_at"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("maintenance_windows")
    op.drop_table("availability_daily")
    op.drop_table("state_changes")
