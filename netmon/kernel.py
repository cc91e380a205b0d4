"""netmon's small shared kernel: UTC time, poll status, targets and the value-object base.

Everything else builds on these and they import nothing of netmon but the inventory's `Role`,
so any module (pollers, monitor, sinks, API) may import them without cycles. Samples, transitions
and events are frozen, keyword-only dataclasses deriving from `ValueObject` (STYLE.md 3).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from netmon.inventory.kinds import Role

__all__ = [
    "THREAD_GRACE",
    "TRUNCATED",
    "Sample",
    "Status",
    "Target",
    "ValueObject",
    "finish_thread",
    "storable",
    "utc",
    "utcnow",
]

#: The marker of a value shortened to fit its column, followed by 8 hex digits of the full value's hash.
TRUNCATED = "…#"


#: Longest a cancelled loop waits for its worker thread to give back its database connection (seconds).
THREAD_GRACE = 5.0


async def finish_thread(call: Callable[..., Any], *args: Any, on_late: Callable[[Any], object] | None = None) -> Any:
    """Run *call* in a worker thread; if cancelled, let the thread end (up to `THREAD_GRACE` s) before re-raising.

    A cancelled `asyncio.to_thread` leaves its thread running: one still holding a database
    connection when the daemon disposes the engine leaks that connection (psycopg warns).
    When cancelled, what *call* still returns (within the grace or after it) is given to
    *on_late* on the event loop, e.g. to close a connection that nobody will receive.
    """
    future = asyncio.ensure_future(asyncio.to_thread(call, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        if on_late is not None:
            late = on_late

            def hand_over(done: asyncio.Future[Any]) -> None:
                if not done.cancelled() and done.exception() is None:
                    late(done.result())

            future.add_done_callback(hand_over)
        await asyncio.wait([future], timeout=THREAD_GRACE)
        raise


def utcnow() -> datetime:
    """Return the current time in UTC (aware)."""
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """Return *value* as an aware UTC datetime (SQLite returns the stored UTC values naive)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def storable(text: str, limit: int) -> str:
    """Return *text* as every database stores it: NUL bytes removed, at most *limit* characters.

    A longer value is cut and ends with `TRUNCATED` and 8 hex digits of the full value's
    SHA-256, so two long values that share a prefix stay two keys. PostgreSQL refuses NUL in
    text and over-long varchar values (FIELD-NOTES); SQLite stores both, so without this a
    key would be valid on one database and poison on the other.
    """
    clean = text.replace("\x00", "")
    if len(clean) <= limit:
        return clean
    digest = hashlib.sha256(clean.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return clean[: limit - len(TRUNCATED) - 8] + TRUNCATED + digest


class Status(enum.StrEnum):
    """How a poll ended. Only OK samples carry values."""

    OK = "ok"
    TIMEOUT = "timeout"
    REFUSED = "refused"  # the host answered ICMP port unreachable: no agent listening
    AUTH_FAILED = "auth_failed"
    NO_SUCH_OBJECT = "no_such_object"
    UNREACHABLE = "unreachable"
    BAD_REPLY = "bad_reply"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class Target:
    """A device to poll, as the pollers see it: no secrets, only the profile's name.

    `object_kind` tells what is polled: "device" here; a subclass for another kind of object
    (a service, `netmon.pollers.service.ServiceTarget`) sets its own, and `device` holds that
    object's name. Poll classes apply to devices unless they say otherwise.
    """

    object_kind: ClassVar[str] = "device"
    device: str
    address: str
    unit: str
    role: Role
    snmp: str | None = None


class ValueObject:
    """Base of netmon's value objects: to_dict/from_dict for frozen dataclasses of plain data."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild the object from `to_dict()` output."""
        hints = typing.get_type_hints(cls)
        kwargs = {f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
        return cls(**kwargs)


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if isinstance(value, ValueObject):
        return value.to_dict()
    return value


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if value is None:
        result = None
    elif origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        result = _decode(inner[0], value) if len(inner) == 1 else value
    elif origin is tuple:
        result = tuple(_decode(typing.get_args(hint)[0], v) for v in value)
    elif hint is datetime:
        result = datetime.fromisoformat(value)
    elif isinstance(hint, type) and issubclass(hint, enum.Enum | ValueObject):
        result = hint(value) if issubclass(hint, enum.Enum) else hint.from_dict(value)
    else:
        result = value
    return result


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample(ValueObject):
    """The outcome of polling one device for one poll class; `kind` names the sample kind (one per class)."""

    kind: ClassVar[str] = "sample"
    device: str
    ts: datetime
    status: Status
    duration: float = 0.0  # seconds
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the device answered."""
        return self.status is Status.OK
