"""The outage ledger: transitions in, outage rows out; restart-safe by construction.

An object has at most one open outage (a partial unique index). A transition into DOWN,
UNREACHABLE or MAINTENANCE opens one unless an outage with that cause is already open (a
restarted daemon replaying or continuing a round); a change of cause closes the old one and
opens the next at the same instant; a transition to UP (or UNKNOWN) closes it. The state
engine is restored from the open outages at start-up, so it does not begin again from UNKNOWN.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from netmon.errors import InputError, StoreDataError
from netmon.inventory.models import metadata
from netmon.inventory.schema import transaction
from netmon.kernel import ValueObject, utc
from netmon.monitor.state import State, Transition

__all__ = [
    "CAUSES",
    "OUTAGE_KINDS",
    "LastState",
    "OutageLedger",
    "OutageRecord",
    "Written",
    "check_storable",
    "parse_since",
    "utc",
]

_OUTAGES = metadata.tables["outages"]
_CHANGES = metadata.tables["state_changes"]
_log = structlog.get_logger("netmon.outages")

#: The outage cause of each failed state.
CAUSES = {State.DOWN: "down", State.UNREACHABLE: "unreachable", State.MAINTENANCE: "maintenance"}

#: Objects that get outages; interfaces have a state and a history but no outages.
OUTAGE_KINDS = frozenset({"device", "link", "service"})

#: Objects looked up per query when checking for replays (well below SQLite's variable limit).
_CHUNK = 400
#: Rows added to the state history after which PostgreSQL's statistics of it are refreshed.
ANALYZE_ROWS = 20_000


@dataclass(frozen=True, kw_only=True)
class OutageRecord(ValueObject):
    """One outage: what, why, from when, until when (None while open)."""

    id: int
    kind: str
    name: str
    cause: str
    root_cause: str | None
    started_at: datetime
    ended_at: datetime | None
    end_cause: str | None = None  # what ended it: up, unknown, removed (from the inventory), or the next cause

    @property
    def duration(self) -> float | None:
        """Return the outage's length in seconds, or None while it is open."""
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None


@dataclass(frozen=True, kw_only=True)
class Written:
    """What the ledger wrote for one transition: the outage it closed and the one it opened (or neither).

    Events and reports (MQTT) are built from this, never from a second copy of the rules.
    """

    transition: Transition
    closed: OutageRecord | None = None
    opened: OutageRecord | None = None


@dataclass(frozen=True, kw_only=True)
class LastState:
    """An object's latest recorded state."""

    kind: str
    name: str
    state: State
    since: datetime
    root_cause: str | None
    flapping: bool


class OutageLedger:
    """Reads and writes outages; every write is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._unanalyzed = 0  # rows this ledger added to the history since its last ANALYZE (PostgreSQL)

    def apply(
        self,
        transitions: Sequence[Transition],
        *,
        also: Callable[[Connection, list[Written]], None] | None = None,
        fence: Callable[[Connection], None] | None = None,
    ) -> list[Written]:
        """Open and close outages for *transitions* in one transaction, with *also*; a replay changes nothing.

        Returns what was written, one `Written` per transition (in order), and hands the same list
        to *also* inside the transaction (the MQTT outbox: events are written with what they report,
        or not at all). *fence* runs first in the same transaction: several pollers check there that
        this one still holds its lease (`netmon.cluster`, issue 19) and raise FencedError, which
        rolls everything back. Raises StoreError; `StoreDataError` when a transition cannot be stored
        (a name over its column, a NUL byte): the item is poison, retrying cannot help.
        """
        if not transitions:
            return []
        for t in transitions:
            check_storable(t)
        written: list[Written] = []
        with transaction(self.engine, "outage ledger") as conn:
            if fence is not None:
                fence(conn)
            added = _record_changes(conn, transitions)
            # one query per _CHUNK objects, not one per transition: the first batch at start has them all
            current = _open_many(conn, {(t.kind, t.name) for t in transitions if t.kind in OUTAGE_KINDS})
            for t in transitions:
                written.append(_apply_one(conn, t, current) if t.kind in OUTAGE_KINDS else Written(transition=t))
            if also is not None:
                also(conn, written)
        self._analyze(added)
        return written

    def _analyze(self, added: int) -> None:
        """Refresh PostgreSQL's statistics of the history after every `ANALYZE_ROWS` rows this ledger added.

        The replay check's lookups (`_record_changes`) are planned from the statistics. At start
        they are those of a history without the first batch (190,000 rows at 10,000 devices), and
        each lookup of 400 objects scanned every row of their kind: PostgreSQL took 23 to 145 s
        per 20,000 transitions, a core for minutes, instead of 2 s. Autovacuum's ANALYZE comes too
        late for a burst. SQLite's lookups use the index without statistics.
        """
        self._unanalyzed += added
        if self._unanalyzed < ANALYZE_ROWS or self.engine.dialect.name != "postgresql":
            return
        self._unanalyzed = 0
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE state_changes"))
                conn.commit()
        except sa.exc.SQLAlchemyError as exc:  # statistics are an optimisation: the writes are done
            _log.warning("could not refresh the statistics of the state history", error=type(exc).__name__)

    def outages(self, *, open_only: bool = False, since: datetime | None = None) -> list[OutageRecord]:
        """List outages, newest first; *since* keeps those still open then or started after."""
        query = sa.select(_OUTAGES).order_by(_OUTAGES.c.started_at.desc(), _OUTAGES.c.id.desc())
        if open_only:
            query = query.where(_OUTAGES.c.ended_at.is_(None))
        if since is not None:
            since = since.astimezone(UTC)
            query = query.where(sa.or_(_OUTAGES.c.ended_at.is_(None), _OUTAGES.c.ended_at >= since))
        with transaction(self.engine, "outage ledger") as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def last_states(self) -> list[LastState]:
        """Return each object's latest recorded state, to restore the state engine after a restart."""
        latest = (
            sa.select(sa.func.max(_CHANGES.c.id).label("id"))
            .group_by(_CHANGES.c.object_kind, _CHANGES.c.object_name)
            .subquery()
        )
        query = sa.select(_CHANGES).join(latest, _CHANGES.c.id == latest.c.id)
        with transaction(self.engine, "state history") as conn:
            return [
                LastState(
                    kind=row["object_kind"],
                    name=row["object_name"],
                    state=State(row["state"]),
                    since=utc(row["ts"]),
                    root_cause=row["root_cause"],
                    flapping=row["flapping"],
                )
                for row in conn.execute(query).mappings()
            ]


def _apply_one(conn: Connection, t: Transition, open_now: dict[tuple[str, str], OutageRecord]) -> Written:
    """Apply one device or link transition: close the open outage if its cause ends, open the next.

    *open_now* holds the open outage of each object of the batch; it is kept up to date.
    """
    cause = CAUSES.get(t.new)
    current = open_now.get((t.kind, t.name))
    if current is not None and current.cause == cause:
        return Written(transition=t)  # already recorded: a replay, or the same outage continuing
    closed = opened = None
    if current is not None:
        ended_at, end_cause = max(t.ts, current.started_at).astimezone(UTC), cause or t.new.value
        conn.execute(
            sa.update(_OUTAGES).where(_OUTAGES.c.id == current.id).values(ended_at=ended_at, end_cause=end_cause)
        )
        closed = dataclasses.replace(current, ended_at=ended_at, end_cause=end_cause)
        del open_now[(t.kind, t.name)]
    if cause is not None:
        started_at = t.ts.astimezone(UTC)
        row = {"object_kind": t.kind, "object_name": t.name, "cause": cause, "root_cause": t.root_cause}
        new_id = conn.execute(sa.insert(_OUTAGES).values(**row, started_at=started_at)).inserted_primary_key
        assert new_id is not None  # noqa: S101 (an INSERT always has a key; for mypy)
        opened = OutageRecord(
            id=new_id[0], kind=t.kind, name=t.name, cause=cause, root_cause=t.root_cause, started_at=started_at,
            ended_at=None,
        )  # fmt: skip
        open_now[(t.kind, t.name)] = opened
    return Written(transition=t, closed=closed, opened=opened)


def check_storable(t: Transition) -> None:
    """Raise StoreDataError when *t* cannot be stored as it is: a key over its column or with a NUL byte.

    Keys are made storable at the edge (`netmon.kernel.storable`); this guard catches what slipped
    through, so one bad item is isolated instead of failing its batch on PostgreSQL only.
    """
    for field, value, limit in (("kind", t.kind, 16), ("name", t.name, 255), ("root_cause", t.root_cause, 255)):
        if value is not None and (len(value) > limit or "\x00" in value):
            problem = "a NUL byte" if "\x00" in value else f"{len(value)} characters (at most {limit})"
            raise StoreDataError(f"transition {field} has {problem}: {value[:64]!r}")


def _chunks(keys: Iterable[tuple[str, str]]) -> Iterator[tuple[str, list[str]]]:
    """Group object keys by kind, in chunks of at most `_CHUNK` names: (kind, names).

    Queried as ``object_kind = :kind AND object_name IN (...)``, which both databases answer
    from their (object_kind, object_name, ...) indexes. SQLite answers a row-value
    ``(object_kind, object_name) IN (...)`` by scanning the whole index for every chunk: at
    10,000 devices the first batch at start (190,000 objects, 475 chunks) scanned a growing
    190,000-entry index 475 times, a core busy for a minute (issue 12).
    """
    by_kind: dict[str, list[str]] = {}
    for kind, name in sorted(set(keys)):
        by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        for start in range(0, len(names), _CHUNK):
            yield kind, names[start : start + _CHUNK]


def _record_changes(conn: Connection, transitions: Sequence[Transition]) -> int:
    """Append the transitions to the state history, skipping any already recorded (a replay); return the rows added."""
    last: dict[tuple[str, str], tuple[str, datetime]] = {}
    for kind, names in _chunks((t.kind, t.name) for t in transitions):
        latest = (
            sa.select(sa.func.max(_CHANGES.c.id).label("id"))
            .where(_CHANGES.c.object_kind == kind, _CHANGES.c.object_name.in_(names))
            .group_by(_CHANGES.c.object_kind, _CHANGES.c.object_name)
            .subquery()
        )
        for row in conn.execute(sa.select(_CHANGES).join(latest, _CHANGES.c.id == latest.c.id)):
            last[(row.object_kind, row.object_name)] = (row.state, utc(row.ts))
    rows = []
    for t in transitions:
        previous = last.get((t.kind, t.name))
        if previous is not None and (previous[0] == t.new.value or previous[1] > t.ts):
            continue
        last[(t.kind, t.name)] = (t.new.value, t.ts)
        rows.append(
            {
                "object_kind": t.kind,
                "object_name": t.name,
                "state": t.new.value,
                "root_cause": t.root_cause,
                "flapping": t.flapping,
                "ts": t.ts.astimezone(UTC),  # SQLite keeps the wall time it is given: store UTC only
            }
        )
    if rows:
        conn.execute(sa.insert(_CHANGES), rows)
    return len(rows)


def _open_many(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], OutageRecord]:
    """Return the open outage of each of *keys* that has one, reading _CHUNK objects of a kind per query."""
    found = {}
    for kind, names in _chunks(keys):
        query = sa.select(_OUTAGES).where(
            _OUTAGES.c.object_kind == kind, _OUTAGES.c.object_name.in_(names), _OUTAGES.c.ended_at.is_(None)
        )
        for row in conn.execute(query).mappings():
            record = _record(row)
            found[(record.kind, record.name)] = record
    return found


def _record(row: sa.RowMapping) -> OutageRecord:
    return OutageRecord(
        id=row["id"],
        kind=row["object_kind"],
        name=row["object_name"],
        cause=row["cause"],
        root_cause=row["root_cause"],
        started_at=utc(row["started_at"]),
        ended_at=utc(row["ended_at"]) if row["ended_at"] is not None else None,
        end_cause=row["end_cause"],
    )


_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime, *, where: str = "--since") -> datetime:
    """Parse `30m`, `24h`, `7d`, `2w` (before *now*) or an ISO date/time (UTC unless it has an offset).

    Raises:
        InputError: neither form, or a duration reaching before year 1 (`1000000d`): the message
            starts with *where* (a CLI exit 2, an HTTP 400).
    """
    match = _RELATIVE.match(text.strip())
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except OverflowError:  # timedelta's own limit, or a start before datetime.min
            message = f"{text.strip()[:32]!r} reaches back before the year 1; give a shorter duration or a date"
            raise InputError(f"{where}: {message}") from None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        message = f"{text!r} is not a duration (30m, 24h, 7d, 2w) or an ISO date/time (2026-11-01T08:00+07:00)"
        raise InputError(f"{where}: {message}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
