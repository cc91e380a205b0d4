"""Inventory: units, devices, links.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEVELS = ("province", "department", "district", "ward")
_ROLES = ("router", "switch", "firewall", "server", "vc_endpoint", "workstation", "access_point", "ups", "other")
_KINDS = ("lan", "internet", "wan", "man", "tslcd")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    """Create the inventory tables."""
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("level", _enum(_LEVELS, "unit_level"), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("staff", sa.Integer(), nullable=True),
        sa.Column("computers", sa.Integer(), nullable=True),
        sa.Column("servers", sa.Integer(), nullable=True),
        sa.Column("vc_endpoints", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"], name="fk_units_parent_id_units"),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("code", name="uq_units_code"),
    )
    op.create_index("ix_units_parent_id", "units", ["parent_id"])
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", _enum(_ROLES, "device_role"), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("snmp", sa.String(length=64), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("tags", sa.String(length=1024), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_devices_unit_id_units"),
        sa.ForeignKeyConstraint(["parent_id"], ["devices.id"], name="fk_devices_parent_id_devices"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("name", name="uq_devices_name"),
        sa.UniqueConstraint("address", name="uq_devices_address"),
    )
    op.create_index("ix_devices_unit_id", "devices", ["unit_id"])
    op.create_index("ix_devices_parent_id", "devices", ["parent_id"])
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", _enum(_KINDS, "link_kind"), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("interface", sa.String(length=255), nullable=True),
        sa.Column("capacity_mbps", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name="fk_links_unit_id_units"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name="fk_links_device_id_devices"),
        sa.PrimaryKeyConstraint("id", name="pk_links"),
        sa.UniqueConstraint("name", name="uq_links_name"),
    )
    op.create_index("ix_links_unit_id", "links", ["unit_id"])
    op.create_index("ix_links_device_id", "links", ["device_id"])


def downgrade() -> None:
    """Drop the inventory tables."""
    op.drop_table("links")
    op.drop_table("devices")
    op.drop_table("units")
