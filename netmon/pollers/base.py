"""Targets and Samples: what pollers take and give. A device that does not answer is a Sample."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, Self

from netmon.inventory.kinds import Role

__all__ = [
    "HostSample",
    "InterfaceRow",
    "InterfacesSample",
    "PingSample",
    "Poller",
    "Sample",
    "Status",
    "StorageRow",
    "SystemSample",
    "Target",
    "ValueObject",
    "utcnow",
]


def utcnow() -> datetime:
    """Return the current time in UTC (aware)."""
    return datetime.now(UTC)


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
    """A device to poll, as the pollers see it: no secrets, only the profile's name."""

    device: str
    address: str
    unit: str
    role: Role
    snmp: str | None = None


class ValueObject:
    """Base of netmon's value objects: to_dict/from_dict for frozen dataclasses of plain data."""

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


@dataclass(frozen=True, kw_only=True)
class Sample(ValueObject):
    """The outcome of polling one device for one poll class."""

    kind: ClassVar[str] = "sample"
    device: str
    ts: datetime
    status: Status
    duration: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the device answered."""
        return self.status is Status.OK


@dataclass(frozen=True, kw_only=True)
class PingSample(Sample):
    """ICMP echo round: packets sent and received, RTT (seconds) and jitter (mean deviation)."""

    kind: ClassVar[str] = "ping"
    sent: int = 0
    received: int = 0
    rtt_min: float | None = None
    rtt_avg: float | None = None
    rtt_max: float | None = None
    jitter: float | None = None

    @property
    def loss_ratio(self) -> float:
        """Return the share of echo requests that got no reply (1.0 when none were sent)."""
        return 1.0 - self.received / self.sent if self.sent else 1.0


@dataclass(frozen=True, kw_only=True)
class SystemSample(Sample):
    """SNMPv2-MIB system group."""

    kind: ClassVar[str] = "snmp_system"
    sys_uptime: int | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class InterfaceRow(ValueObject):
    """One IF-MIB interface; counters are 64-bit (ifX HC) or 32-bit (ifTable) as `counter_bits` says."""

    if_index: int
    name: str
    alias: str = ""
    oper_status: int | None = None
    admin_status: int | None = None
    speed_bps: int | None = None
    counter_bits: int = 64
    in_octets: int | None = None
    out_octets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None


@dataclass(frozen=True, kw_only=True)
class InterfacesSample(Sample):
    """IF-MIB interfaces with sysUpTime, the clock the counters are read on."""

    kind: ClassVar[str] = "snmp_interfaces"
    sys_uptime: int | None = None
    interfaces: tuple[InterfaceRow, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StorageRow(ValueObject):
    """One HOST-RESOURCES hrStorage entry, in bytes."""

    index: int
    descr: str
    size_bytes: int
    used_bytes: int


@dataclass(frozen=True, kw_only=True)
class HostSample(Sample):
    """HOST-RESOURCES-MIB: per-CPU load (%) and storage."""

    kind: ClassVar[str] = "host_resources"
    cpu_load: tuple[int, ...] = ()
    storage: tuple[StorageRow, ...] = ()


class Poller(Protocol):
    """Something that polls one target and always returns a Sample, never raises for the device's sake."""

    async def poll(self, target: Target) -> Sample:
        """Poll *target* once."""
        ...
