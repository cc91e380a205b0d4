"""The MQTT outbox: messages written with their transitions, deleted after the broker's PUBACK.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create mqtt_outbox."""
    op.create_table(
        "mqtt_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=1024), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("retain", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mqtt_outbox"),
        sa.UniqueConstraint("event_id", name="uq_mqtt_outbox_event_id"),
    )


def downgrade() -> None:
    """Drop mqtt_outbox."""
    op.drop_table("mqtt_outbox")
