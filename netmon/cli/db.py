"""`netmon db ...`: the database schema."""

from __future__ import annotations

import typer

from netmon.cli.common import Command, ConfigOpt, handled, load, out

__all__ = ["register"]

group = typer.Typer(help="Database schema.\n\nExample: netmon db upgrade", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `db` group to *app*."""
    app.add_typer(group, name="db")


@group.command("upgrade", cls=Command)
@handled
def db_upgrade(config: ConfigOpt = None) -> None:
    """Create or migrate the database schema to this netmon's version.

    Example: netmon db upgrade --config config/netmon.example.yaml
    """
    from netmon.inventory import schema  # noqa: PLC0415 (lazy: SQLAlchemy, Alembic)

    cfg = load(config)
    engine = schema.create_engine(cfg.database.url.reveal())
    try:
        before, after = schema.upgrade(engine)
    finally:
        engine.dispose()
    where = cfg.database.url.display()
    if before == after:
        out.print(f"{where}: schema already at {after}", markup=False)
    else:
        out.print(f"{where}: schema {before or 'empty'} → {after}", markup=False)
