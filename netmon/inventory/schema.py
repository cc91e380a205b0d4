"""Database engines and schema migrations (Alembic, run in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from netmon.errors import StoreDataError, StoreError
from netmon.inventory import health

__all__ = [
    "HEAD",
    "LOCK_TIMEOUT",
    "STATEMENT_TIMEOUT",
    "check_writable",
    "create_engine",
    "current_revision",
    "describe",
    "dispose",
    "transaction",
    "upgrade",
]

_MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest migration revision; a test checks it against Alembic's script directory.
#: Kept as a constant so that commands other than `db upgrade` need not import Alembic.
HEAD = "0012"


#: Longest one statement may run (seconds): PostgreSQL `statement_timeout`, SQLite's busy timeout.
#: A hung statement then fails as a temporary StoreError and is retried, instead of blocking forever.
STATEMENT_TIMEOUT = 30.0
#: Longest a PostgreSQL statement waits for a lock (seconds), well inside the statement timeout.
LOCK_TIMEOUT = 10.0


def create_engine(url: str) -> Engine:
    """Open an engine with a timeout on every statement (`STATEMENT_TIMEOUT`, `LOCK_TIMEOUT`).

    SQLite gets foreign keys, WAL and a busy timeout, and its folder is created; PostgreSQL gets
    `statement_timeout` and `lock_timeout` as connection options, and a connect timeout of 10 s.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the database's folder {folder}: {exc.strerror}") from exc
        kwargs["connect_args"] = {"timeout": STATEMENT_TIMEOUT}
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        options = f"-c statement_timeout={int(STATEMENT_TIMEOUT * 1000)} -c lock_timeout={int(LOCK_TIMEOUT * 1000)}"
        given = parsed.query.get("options")  # e.g. a search_path: keep it, add the timeouts
        if given:
            options = f"{given if isinstance(given, str) else ' '.join(given)} {options}"
            parsed = parsed.difference_update_query(["options"])
        kwargs["connect_args"] = {"connect_timeout": 10, "options": options}
        kwargs["pool_pre_ping"] = True  # a server restart costs no failed transaction
    engine = sa.create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    health.watch(engine)
    return engine


def dispose(engine: Engine) -> None:
    """Close *engine*'s pooled connections now, and each one still checked out when it is checked back in.

    `Engine.dispose` closes only the connections in the pool: one still out, in a worker thread whose
    awaiting task was cancelled at shutdown (a heartbeat, a round's write), goes back to the discarded
    pool and is closed only by the garbage collector, which psycopg reports as a ResourceWarning
    ("deleted while still open"). The engine stays usable: it opens new connections on demand.

    Not covered: a checkin already past SQLAlchemy's test for checkin listeners when the listener is
    added, and connections a thread takes from the new pool after this call (nobody disposes it).
    """
    old = engine.pool
    engine.dispose()
    sa.event.listen(old, "checkin", _close_on_checkin)
    old.dispose()  # a connection checked in between the two lines above


def _close_on_checkin(dbapi_conn: Any, _record: object) -> None:
    if dbapi_conn is not None:  # None: the connection was invalidated, hence already closed
        dbapi_conn.close()


@contextmanager
def transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """Run one transaction; database errors become StoreError naming *what* (never SQL parameters).

    A transaction that wrote (or could not even start) reports its outcome to the engine's
    `health.WriteHealth`: /readyz and /metrics show failing writes (issue 15). Errors about the
    data itself (sqlalchemy DataError, IntegrityError: a value too long, a NUL byte on
    PostgreSQL, a broken constraint) become `StoreDataError`: retrying cannot help.
    """
    writes, started = False, False
    try:
        with engine.begin() as conn:
            started = True
            health.wrote(conn)  # forget a mark left by a transaction that never reported
            try:
                yield conn
            finally:
                writes = health.wrote(conn)
    except (sa.exc.DataError, sa.exc.IntegrityError) as exc:
        if writes or not started:
            health.health_of(engine).record_failure(what, describe(exc))
        raise StoreDataError(f"{what}: {describe(exc)}") from exc
    except SQLAlchemyError as exc:
        if writes or not started:
            health.health_of(engine).record_failure(what, describe(exc))
        raise StoreError(f"{what}: {describe(exc)}") from exc
    if writes:
        health.health_of(engine).record_write()


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


def check_writable(engine: Engine) -> None:
    """Write once (a no-op UPDATE of the schema version) to prove the database takes writes.

    `netmon run` calls it at start: a read-only SQLite file or a full disk refuses the start
    instead of a daemon that says it is ready and records nothing (issue 15, failure 4).

    Raises:
        StoreError: the write failed; the message says why (no SQL parameters).
    """
    try:
        with transaction(engine, "write check") as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
    except StoreError as exc:
        raise StoreError(f"the database does not take writes: {exc}") from exc


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
