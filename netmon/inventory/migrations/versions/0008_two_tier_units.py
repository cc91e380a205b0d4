"""Two-tier local government: the commune level, commune types, unit validity and successors, dated moves.

Since 2025-07-01 Vietnam's communes (xã, phường, đặc khu) sit directly under the province; before,
under a district (docs/inventory.md, "Two structures"). The level `ward` becomes `commune`.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_LEVELS = ("province", "department", "district", "ward")
_NEW_LEVELS = ("province", "department", "district", "commune")
_TYPES = ("xã", "phường", "đặc khu", "thị trấn")


def _check(values: tuple[str, ...], column: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _levels(old: tuple[str, ...], new: tuple[str, ...], rename: tuple[str, str]) -> None:
    """Swap the unit_level CHECK constraint and rename one level, in one batch (SQLite copies the table)."""
    with op.batch_alter_table("units") as batch:
        batch.drop_constraint("unit_level", type_="check")
    op.execute(sa.text("UPDATE units SET level = :new WHERE level = :old").bindparams(old=rename[0], new=rename[1]))
    with op.batch_alter_table("units") as batch:
        batch.create_check_constraint("unit_level", _check(new, "level"))
    del old


def upgrade() -> None:
    """Rename ward to commune; add units.type/valid_from/valid_to/successor and devices/links moves."""
    _levels(_OLD_LEVELS, _NEW_LEVELS, ("ward", "commune"))
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("type", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("successor", sa.String(length=64), nullable=True))
        batch.create_check_constraint("commune_type", _check(_TYPES, "type"))
    for table in ("devices", "links"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("previous_unit", sa.String(length=64), nullable=True))
            batch.add_column(sa.Column("moved_on", sa.Date(), nullable=True))


def downgrade() -> None:
    """Drop the new columns and rename commune back to ward."""
    for table in ("devices", "links"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("moved_on")
            batch.drop_column("previous_unit")
    with op.batch_alter_table("units") as batch:
        batch.drop_constraint("commune_type", type_="check")
        batch.drop_column("successor")
        batch.drop_column("valid_to")
        batch.drop_column("valid_from")
        batch.drop_column("type")
    _levels(_NEW_LEVELS, _OLD_LEVELS, ("commune", "ward"))
