"""`schema.dispose`: no pooled connection is left for the garbage collector at shutdown."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa

from netmon.inventory import schema


def _closed(raw: Any) -> bool:
    if isinstance(raw, sqlite3.Connection):
        try:
            raw.execute("select 1")
        except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
            return True
        return False
    return bool(raw.closed)  # psycopg


def test_a_connection_out_at_dispose_is_closed_when_it_comes_back(db_url: str) -> None:
    engine = schema.create_engine(db_url)
    out = engine.connect()  # still out at dispose, as in a worker thread whose task was cancelled
    out.execute(sa.text("select 1"))
    out_raw = out.connection.dbapi_connection
    idle = engine.connect()
    idle_raw = idle.connection.dbapi_connection
    idle.close()  # back in the pool

    schema.dispose(engine)
    assert _closed(idle_raw)
    assert not _closed(out_raw)  # the thread may still be using it
    out.close()
    assert _closed(out_raw)  # not left open in the discarded pool

    with engine.connect() as conn:  # the engine opens new connections after a dispose
        assert conn.execute(sa.text("select 1")).scalar() == 1
        fresh_raw = conn.connection.dbapi_connection
    assert not _closed(fresh_raw)  # the new pool keeps its connections
    schema.dispose(engine)
    assert _closed(fresh_raw)
