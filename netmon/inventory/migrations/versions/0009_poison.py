"""Poison items: what the transition pipeline could not store, kept for inspection (issue 11).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create poison."""
    op.create_table(
        "poison",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("what", sa.String(length=32), nullable=False),
        sa.Column("object_kind", sa.String(length=16), nullable=False),
        sa.Column("object_name", sa.String(length=255), nullable=False),
        sa.Column("error", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_poison"),
    )
    op.create_index("ix_poison_ts", "poison", ["ts"])


def downgrade() -> None:
    """Drop poison."""
    op.drop_index("ix_poison_ts", table_name="poison")
    op.drop_table("poison")
