"""SNMP reads for discovery: which profile answers, the system group, and bounded table walks.

Every walk is bounded in rows and requests and stops at the first OID that does not increase
(as net-snmp's tools do) or leaves the subtree; end of the agent's view ends it cleanly. A
device that does not answer gives None or an empty table, never an exception.

A v3 profile with a ``context`` is read over pysnmp (`netmon.pollers.snmpctx.ContextSession`,
the same surface as gufo's session); readers of one run share its engines (`context_engines`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gufo.snmp import SnmpError, SnmpVersion, User, ValueType
from gufo.snmp.aio.client import SnmpSession

from netmon.config import SnmpProfile
from netmon.pollers.share import LoopShare
from netmon.pollers.snmp import auth_key, priv_key

if TYPE_CHECKING:
    from netmon.pollers.snmpctx import ContextEngines, ContextSession

__all__ = ["MAX_ROWS", "Identity", "Reader", "context_engines", "identify", "oid_suffix"]

#: The most rows one walk returns, and the most requests it sends (a runaway agent is cut off).
MAX_ROWS = 20_000
_MAX_REQUESTS = 2_000
_REPETITIONS = 20
_VERSION = {"1": SnmpVersion.v1, "2c": SnmpVersion.v2c, "3": SnmpVersion.v3}
_SYSTEM = {
    "sys_descr": "1.3.6.1.2.1.1.1.0",
    "sys_object_id": "1.3.6.1.2.1.1.2.0",
    "sys_name": "1.3.6.1.2.1.1.5.0",
    "sys_location": "1.3.6.1.2.1.1.6.0",
    "sys_services": "1.3.6.1.2.1.1.7.0",
    "if_number": "1.3.6.1.2.1.2.1.0",
}
_HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
_LLDP_LOC_CHASSIS_ID = "1.0.8802.1.1.2.1.3.2.0"
_LLDP_LOC_CAP_ENABLED = "1.0.8802.1.1.2.1.3.6.0"
_ERRORS = (TimeoutError, OSError, SnmpError, RuntimeError, ValueError)


def _text(value: ValueType | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.replace(b"\0", b"").decode("utf-8", errors="replace")
    return str(value)


def oid_suffix(oid: str, base: str) -> tuple[int, ...]:
    """Return the sub-identifiers of *oid* after *base* (the table index)."""
    return tuple(int(part) for part in oid[len(base) + 1 :].split(".") if part)


@dataclass(frozen=True, kw_only=True)
class Identity:
    """What one host said about itself, and the profile it answered to."""

    address: str
    profile: str
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_location: str | None = None
    sys_services: int | None = None
    if_number: int | None = None
    host_resources: bool = False
    lldp_chassis_id: bytes | None = None
    lldp_capabilities: bytes | None = None
    notes: tuple[str, ...] = field(default=())


def context_engines(profiles: Iterable[SnmpProfile]) -> ContextEngines | None:
    """Return pysnmp engines for readers to share when a profile has a v3 context, else None.

    The caller closes them (``await engines.aclose()``) when its readers are done.
    """
    if not any(p.version == "3" and p.context for p in profiles):
        return None
    from netmon.pollers.snmpctx import ContextEngines  # noqa: PLC0415 (pysnmp: context profiles only)

    return ContextEngines()


class Reader:
    """Requests to one host with one profile (one session; v3 engine discovered on first use).

    *contexts* are the run's pysnmp engines for a v3 profile with a context (`context_engines`);
    without them such a reader makes its own, closed when it is dropped.
    """

    def __init__(
        self, address: str, profile: SnmpProfile, *, timeout: float = 2.0, contexts: ContextEngines | None = None
    ) -> None:
        self.address = address
        self.profile = profile
        self._timeout = profile.timeout if profile.timeout is not None else timeout
        self._session: SnmpSession | ContextSession | None = None
        self._contexts = contexts

    async def _open(self) -> SnmpSession | ContextSession:
        if self._session is None and self.profile.version == "3" and self.profile.context:
            from netmon.pollers.snmpctx import ContextEngines, ContextSession  # noqa: PLC0415 (pysnmp)

            if self._contexts is None:
                self._contexts = ContextEngines()
            self._session = ContextSession(self._contexts, self.address, self.profile, self._timeout)
        if self._session is None:
            profile = self.profile
            common = {
                "addr": self.address,
                "port": profile.port,
                "timeout": self._timeout,
                "version": _VERSION[profile.version],
                "max_repetitions": _REPETITIONS,
                "recv_buffer": 256 * 1024,
            }
            if profile.version == "3":
                user = User(profile.user or "", auth_key=auth_key(profile), priv_key=priv_key(profile))
                session = SnmpSession(user=user, **common)  # type: ignore[arg-type]
                await session.refresh()
            else:
                community = profile.community.reveal() if profile.community else ""
                session = SnmpSession(community=community, **common)  # type: ignore[arg-type]
            self._session = session
        return self._session

    async def get(self, oids: Sequence[str]) -> dict[str, ValueType] | None:
        """GET *oids* in one request; None when the host does not answer this profile."""
        try:
            session = await self._open()
            async with asyncio.timeout(self._timeout * 2 + 1):
                return await session.get_many(oids)
        except _ERRORS:
            return None

    async def get_each(self, oids: Sequence[str]) -> dict[str, ValueType]:
        """GET *oids*; over SNMPv1, when some are missing, ask the others one by one ({} when none answer).

        An SNMPv1 agent answers a GET naming one missing object with noSuchName for the whole PDU
        (RFC 1157 4.1.2), so a system-group-only agent (no ifNumber.0, no sysServices.0) would look
        silent. One by one only after the agent has answered: a silent host costs one timeout.
        """
        got = await self.get(oids)
        if self.profile.version != "1" or got is None or len(got) == len(oids):
            return got or {}  # None: no reply (a timeout), which one by one would only repeat
        each = {oid: (await self.get([oid]) or {}).get(oid) for oid in oids}
        return {oid: value for oid, value in each.items() if value is not None}

    async def walk(self, base: str, *, max_rows: int = MAX_ROWS) -> list[tuple[str, ValueType]]:
        """Walk the subtree *base*: bounded in rows and requests, stopping at a non-increasing OID.

        Takes a turn of the loop's share (`netmon.pollers.share`) before the walk and after every
        `_REPETITIONS` rows, about one per request: a topology poll walks 5,000 devices at 10k, and
        their replies came back by the hundred in one iteration of the event loop.
        """
        rows: list[tuple[str, ValueType]] = []
        last: tuple[int, ...] = ()
        prefix = base + "."
        share = LoopShare.of()
        try:
            await share.turn()
            session = await self._open()
            iterator = session.getnext(base) if self.profile.version == "1" else session.getbulk(base, _REPETITIONS)
            async with asyncio.timeout(self._timeout * (_MAX_REQUESTS // 100 + 2)):
                async for oid, value in iterator:
                    if not oid.startswith(prefix) or len(rows) >= max_rows:
                        break
                    if len(rows) % _REPETITIONS == _REPETITIONS - 1:
                        await share.turn()
                    key = tuple(int(p) for p in oid.split("."))
                    if key <= last:  # the agent went back or stood still: net-snmp's "OID not increasing"
                        break
                    last = key
                    rows.append((oid, value))
        except (*_ERRORS, StopAsyncIteration):
            pass  # what was read stands; an agent that stops answering mid-walk is not an error here
        return rows


async def identify(
    address: str, profiles: Sequence[tuple[str, SnmpProfile]], *, contexts: ContextEngines | None = None
) -> Identity | None:
    """Try *profiles* in order; return what the first one that answers reads, or None."""
    for name, profile in profiles:
        reader = Reader(address, profile, contexts=contexts)
        got = await reader.get_each(list(_SYSTEM.values()))
        if not got:
            continue
        extra = await reader.get_each([_HR_SYSTEM_UPTIME, _LLDP_LOC_CHASSIS_ID, _LLDP_LOC_CAP_ENABLED])
        values = {key: got.get(oid) for key, oid in _SYSTEM.items()}
        services, count = values["sys_services"], values["if_number"]
        chassis, caps = extra.get(_LLDP_LOC_CHASSIS_ID), extra.get(_LLDP_LOC_CAP_ENABLED)
        return Identity(
            address=address,
            profile=name,
            sys_name=_text(values["sys_name"]),
            sys_descr=_text(values["sys_descr"]),
            sys_object_id=_text(values["sys_object_id"]),
            sys_location=_text(values["sys_location"]),
            sys_services=services if isinstance(services, int) else None,
            if_number=count if isinstance(count, int) else None,
            host_resources=extra.get(_HR_SYSTEM_UPTIME) is not None,
            lldp_chassis_id=chassis if isinstance(chassis, bytes) else None,
            lldp_capabilities=caps if isinstance(caps, bytes) else None,
        )
    return None
