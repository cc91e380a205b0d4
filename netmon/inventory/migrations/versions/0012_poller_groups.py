"""Poller groups: each unit, device, link and service may name one; the membership table (issue 19).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("units", "devices", "links", "services")


def upgrade() -> None:
    """Add `poller_group` to the inventory tables and create `poller_members`."""
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("poller_group", sa.String(length=64), nullable=True))
    op.create_table(
        "poller_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("groups", sa.String(length=1024), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_poller_members"),
        sa.UniqueConstraint("name", name="uq_poller_members_name"),
    )


def downgrade() -> None:
    """Drop `poller_members` and the `poller_group` columns."""
    op.drop_table("poller_members")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("poller_group")
