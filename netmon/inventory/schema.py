"""Database engines and schema migrations (Alembic, run in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from netmon.errors import StoreError

__all__ = ["HEAD", "create_engine", "current_revision", "describe", "transaction", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest migration revision; a test checks it against Alembic's script directory.
#: Kept as a constant so that commands other than `db upgrade` need not import Alembic.
HEAD = "0007"


def create_engine(url: str) -> Engine:
    """Open an engine; SQLite gets foreign keys, WAL and a busy timeout, and its folder is created."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["connect_args"] = {"connect_timeout": 10}
    engine = sa.create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@contextmanager
def transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """Run one transaction; database errors become StoreError naming *what* (never SQL parameters)."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"{what}: {describe(exc)}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def current_revision(engine: Engine) -> str | None:
    """Return the database's migration revision, or None when it was never migrated."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the schema version: {describe(exc)}") from exc


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to *revision*; return (revision before, revision after)."""
    from alembic import command  # noqa: PLC0415 (only this command needs Alembic)
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415

    before = current_revision(engine)
    try:
        with engine.begin() as conn:
            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(_MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {describe(exc)}") from exc
    after = current_revision(engine)
    if after is None:
        raise StoreError("migration left no schema version")
    return before, after


def describe(exc: SQLAlchemyError) -> str:
    """Describe a database error in one line, without SQL parameters (they may hold secrets)."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
