"""Outages record what ended them: up, unknown, removed (from the inventory), or the next cause.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add outages.end_cause (a plain ADD COLUMN: a batch copy on SQLite could lose the partial index)."""
    op.add_column("outages", sa.Column("end_cause", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Drop outages.end_cause."""
    with op.batch_alter_table("outages") as batch:
        batch.drop_column("end_cause")
