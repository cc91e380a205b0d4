"""Services: HTTP(S) and TCP checks of the province's web and network services (issue 11, item 5).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the services table."""
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column(
            "check",
            sa.Enum("http", "tcp", name="service_check", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("expect_status", sa.String(length=255), nullable=False),
        sa.Column("body_match", sa.String(length=255), nullable=True),
        sa.Column("timeout", sa.Float(), nullable=True),
        sa.Column("tls_verify", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_services_unit_id_units"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_services_device_id_devices"),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("name", name="uq_services_name"),
    )
    op.create_index("ix_services_unit_id", "services", ["unit_id"])
    op.create_index("ix_services_device_id", "services", ["device_id"])


def downgrade() -> None:
    """Drop the services table."""
    op.drop_table("services")
