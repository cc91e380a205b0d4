"""The `poller_members` table: join, heartbeat, leave, the live members, and the fence (PostgreSQL only).

Every time is the database's clock (`clock_timestamp()`), so pollers on hosts whose clocks
disagree still agree on who is live. A member is *live* while `lease_until` is in the future;
a heartbeat moves it to `failover_delay` seconds ahead. Joining and leaving change who is live:
they hold PostgreSQL's exclusive transaction-level advisory lock `LOCK_KEY`; every fenced write
holds the same lock shared (`fence`), so a join or a leave waits for the writes in flight, and a
write waits for a join or leave to commit. A lease that simply lapses changes nothing in the
table: the fence then requires `MARGIN` seconds of lease left, so a write that passed the check
commits before any other poller may count this one as gone.

The epoch is the fencing token: a join takes one more than any epoch ever given (rows are
never deleted; leaving sets the lease to now), and a heartbeat or a write whose epoch is not the
row's is refused. Joins and leaves `NOTIFY netmon_pollers`, so the others look at once instead of
at their next heartbeat.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.cluster.groups import Member
from netmon.errors import FencedError
from netmon.inventory.schema import transaction

__all__ = ["CHANNEL", "LOCK_KEY", "MARGIN", "fence", "heartbeat", "join", "leave", "live_members"]

#: The advisory lock key of membership changes ("poll" in ASCII), paired with the schema's hash
#: (advisory locks are per database; each schema has its own pollers).
LOCK_KEY = 0x706F6C6C
#: Seconds of lease a write needs left: a write that passed the fence commits before the lease ends.
MARGIN = 1.0
#: The LISTEN/NOTIFY channel of joins and leaves.
CHANNEL = "netmon_pollers"

_LIVE = """SELECT name, groups, epoch FROM poller_members WHERE lease_until > clock_timestamp() ORDER BY name"""


def join(engine: Engine, name: str, groups: Iterable[str], lease: float) -> int:
    """Join (or join again) as *name* serving *groups*; return the new epoch, larger than any before.

    Raises StoreError when the database cannot be written.
    """
    with transaction(engine, "poller membership") as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": LOCK_KEY})
        epoch = int(conn.execute(sa.text("SELECT coalesce(max(epoch), 0) + 1 FROM poller_members")).scalar_one())
        conn.execute(
            sa.text(
                "INSERT INTO poller_members (name, groups, epoch, lease_until, heartbeat_at, joined_at) "
                "VALUES (:name, :groups, :epoch, clock_timestamp() + make_interval(secs => :lease), "
                "clock_timestamp(), clock_timestamp()) "
                "ON CONFLICT (name) DO UPDATE SET groups = excluded.groups, epoch = excluded.epoch, "
                "lease_until = excluded.lease_until, heartbeat_at = excluded.heartbeat_at, "
                "joined_at = excluded.joined_at"
            ),
            {"name": name, "groups": " ".join(sorted(set(groups))), "epoch": epoch, "lease": lease},
        )
        conn.execute(sa.text("SELECT pg_notify(:channel, :name)"), {"channel": CHANNEL, "name": name})
    return epoch


def heartbeat(engine: Engine, name: str, epoch: int, lease: float) -> bool:
    """Extend the lease of *name* at *epoch* by *lease* seconds; False when it had lapsed or was taken over.

    Raises StoreError when the database cannot be written.
    """
    with transaction(engine, "poller heartbeat") as conn:
        row = conn.execute(
            sa.text(
                "UPDATE poller_members SET lease_until = clock_timestamp() + make_interval(secs => :lease), "
                "heartbeat_at = clock_timestamp() "
                "WHERE name = :name AND epoch = :epoch AND lease_until > clock_timestamp() RETURNING epoch"
            ),
            {"name": name, "epoch": epoch, "lease": lease},
        ).first()
    return row is not None


def leave(engine: Engine, name: str, epoch: int) -> None:
    """End the lease of *name* at *epoch* now (a clean stop): the others take its objects at once."""
    with transaction(engine, "poller membership") as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": LOCK_KEY})
        conn.execute(
            sa.text("UPDATE poller_members SET lease_until = clock_timestamp() WHERE name = :name AND epoch = :epoch"),
            {"name": name, "epoch": epoch},
        )
        conn.execute(sa.text("SELECT pg_notify(:channel, :name)"), {"channel": CHANNEL, "name": name})


def live_members(engine: Engine) -> frozenset[Member]:
    """Return the live members (lease in the future). Raises StoreError."""
    with transaction(engine, "poller membership") as conn:
        return _members(conn)


def _members(conn: Connection) -> frozenset[Member]:
    return frozenset(
        Member(name=row.name, groups=frozenset(row.groups.split()), epoch=int(row.epoch))
        for row in conn.execute(sa.text(_LIVE))
    )


def fence(conn: Connection, name: str, epoch: int, view: frozenset[Member]) -> None:
    """Check, in the caller's transaction *conn*, that *name* at *epoch* may still write with ownership from *view*.

    Holds the membership lock shared until the transaction ends (a join or leave waits for it).

    Raises:
        FencedError: `lease_lost` when the row has another epoch or less than `MARGIN` seconds of
            lease left; otherwise when the live members differ from *view* (ownership is stale).
    """
    conn.execute(sa.text("SELECT pg_advisory_xact_lock_shared(:key, hashtext(current_schema()))"), {"key": LOCK_KEY})
    mine = conn.execute(
        sa.text(
            "SELECT epoch, lease_until > clock_timestamp() + make_interval(secs => :margin) AS valid "
            "FROM poller_members WHERE name = :name FOR SHARE"
        ),
        {"name": name, "margin": MARGIN},
    ).first()
    if mine is None or int(mine.epoch) != epoch or not mine.valid:
        raise FencedError(f"poller {name!r}: the lease of epoch {epoch} is no longer held", lease_lost=True)
    if _members(conn) != view:
        raise FencedError(f"poller {name!r}: the live pollers changed", lease_lost=False)
