"""Write health of a database engine: when a write last succeeded, how many failed, and healing.

Issue 15 (failures 3 and 4): with a full disk or a read-only SQLite file, writes failed while
`/readyz` said ready, and a pooled SQLite connection opened while the file was read-only stayed
read-only after the file was writable again. So, for every engine made by
`schema.create_engine`:

- `watch(engine)` marks a connection that ran INSERT/UPDATE/DELETE, so that `schema.transaction`
  can tell a write from a read and report its outcome with `record_write` / `record_failure`;
- a SQLite error that leaves connections unusable ("attempt to write a readonly database",
  "database or disk is full", "disk I/O error", "unable to open database file") is treated as a
  disconnect: SQLAlchemy invalidates the whole pool (its `handle_error` event,
  `is_disconnect`), so the next transaction opens fresh connections and heals by itself once
  the file is writable. PostgreSQL disconnects are already detected by SQLAlchemy's dialect.

`health_of(engine)` returns the engine's `WriteHealth`; `DbHealthCollector` exports it:
`netmon_db_last_write_success_timestamp_seconds` (gauge, Unix seconds),
`netmon_db_write_errors_total{operation}` (counter) and `netmon_db_writes_failing` (0/1).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["DbHealthCollector", "WriteHealth", "health_of", "watch"]

#: SQLite messages after which a pooled connection must not be used again (sqlite3 error texts).
_SQLITE_POISON = ("readonly database", "disk is full", "disk i/o error", "unable to open database file")
_WROTE = "netmon_wrote"
_DML = ("insert", "update", "delete", "replace")


@dataclass
class WriteHealth:
    """Outcome of the engine's write transactions; thread-safe (writes run in worker threads).

    `last_success` is the Unix time (seconds) of the last committed write, `errors` counts failed
    transactions per operation, `failing` holds the reason of the latest failure until a write
    succeeds again.
    """

    last_success: float | None = None
    errors: Counter[str] = field(default_factory=Counter)
    failing: str | None = None
    failing_since: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_write(self) -> None:
        """Note a committed write."""
        with self._lock:
            self.last_success = time.time()
            self.failing = self.failing_since = None

    def record_failure(self, operation: str, reason: str) -> None:
        """Note a failed write transaction of *operation* (e.g. "outage ledger") and why."""
        with self._lock:
            self.errors[operation] += 1
            if self.failing is None:
                self.failing_since = time.time()
            self.failing = f"{operation}: {reason}"

    def problem(self) -> str | None:
        """Return why writes fail now (for /readyz), or None."""
        with self._lock:
            if self.failing is None:
                return None
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.failing_since or time.time()))
            return f"writes failing since {since}: {self.failing}"


_HEALTH: weakref.WeakKeyDictionary[sa.Engine, WriteHealth] = weakref.WeakKeyDictionary()
_HEALTH_LOCK = threading.Lock()


def health_of(engine: sa.Engine) -> WriteHealth:
    """Return *engine*'s write health (created on first use)."""
    with _HEALTH_LOCK:
        health = _HEALTH.get(engine)
        if health is None:
            health = _HEALTH[engine] = WriteHealth()
        return health


def watch(engine: sa.Engine) -> None:
    """Mark connections that write, and invalidate the pool after a poisoning SQLite error."""
    sa.event.listen(engine, "before_cursor_execute", _note_write)
    sa.event.listen(engine, "handle_error", _poisoned)


def wrote(conn: sa.Connection) -> bool:
    """Tell whether *conn* ran a write statement in its current transaction (and forget it).

    A connection invalidated by an error counts as a write: it failed, and its DBAPI connection
    (where the mark lives) is gone.
    """
    if conn.invalidated:
        return True
    return bool(conn.info.pop(_WROTE, False))


def _note_write(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.lstrip()[:7].lower().startswith(_DML):
        conn.info[_WROTE] = True


def _poisoned(context: sa.engine.ExceptionContext) -> None:
    if context.engine is None or context.engine.dialect.name != "sqlite":
        return
    text = str(context.original_exception).lower()
    if isinstance(context.original_exception, Exception) and any(p in text for p in _SQLITE_POISON):
        context.is_disconnect = True  # SQLAlchemy invalidates the pool: fresh connections next time
        context.invalidate_pool_on_disconnect = True


class DbHealthCollector(Collector):
    """Exports a `WriteHealth` (reads memory only, no I/O in collect)."""

    def __init__(self, health: WriteHealth) -> None:
        self._health = health

    def collect(self) -> Iterator[Any]:
        """Yield the last-success gauge, the error counter and the failing flag."""
        h = self._health
        last = GaugeMetricFamily(
            "netmon_db_last_write_success_timestamp_seconds",
            "Unix time of the last database write that committed (absent until the first one).",
        )
        if h.last_success is not None:
            last.add_metric([], h.last_success)
        yield last
        errors = CounterMetricFamily(
            "netmon_db_write_errors", "Database transactions that failed while writing.", labels=["operation"]
        )
        for operation, count in sorted(h.errors.items()):
            errors.add_metric([operation], count)
        yield errors
        yield GaugeMetricFamily(
            "netmon_db_writes_failing",
            "1 while the latest database write failed, else 0.",
            value=int(h.failing is not None),
        )
