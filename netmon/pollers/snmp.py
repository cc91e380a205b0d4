"""SNMP poller (gufo-snmp): system group, IF-MIB interfaces, HOST-RESOURCES.

One session per device poll (a gufo session carries one request at a time), GETBULK column
walks on v2c/v3, GETNEXT and 32-bit counters on v1. Timeouts and retries come from the
credential profile, else from the poll class. Every failure becomes a Sample status; gufo's
exceptions are translated here and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    Md5Key,
    NoSuchInstance,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpAuthError,
    SnmpDecodeError,
    SnmpError,
    SnmpVersion,
    User,
    ValueType,
)
from gufo.snmp._fast import GetIter  # gufo-snmp is pinned below 0.14: see _bulk_column
from gufo.snmp.aio.client import SnmpSession
from gufo.snmp.user import BaseAuthKey, BasePrivKey

from netmon.config import PollClass, SnmpProfile
from netmon.pollers.base import (
    HostSample,
    InterfaceRow,
    InterfacesSample,
    Sample,
    Status,
    StorageRow,
    SystemSample,
    Target,
    utcnow,
)

__all__ = ["SnmpPoller", "auth_key", "priv_key"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound=Sample)

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
_SYSTEM = {
    "sys_descr": "1.3.6.1.2.1.1.1.0",
    "sys_object_id": "1.3.6.1.2.1.1.2.0",
    "sys_uptime": SYS_UPTIME,
    "sys_name": "1.3.6.1.2.1.1.5.0",
}
# IF-MIB columns netmon uses, and nothing else.
_IF_STATUS = {
    "admin_status": "1.3.6.1.2.1.2.2.1.7",
    "oper_status": "1.3.6.1.2.1.2.2.1.8",
    "in_discards": "1.3.6.1.2.1.2.2.1.13",
    "in_errors": "1.3.6.1.2.1.2.2.1.14",
    "out_discards": "1.3.6.1.2.1.2.2.1.19",
    "out_errors": "1.3.6.1.2.1.2.2.1.20",
}
# Walked only when the agent lacks ifName / ifHighSpeed (old or v1-only agents).
_IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
_IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
_IF_OCTETS_32 = {"in_octets": "1.3.6.1.2.1.2.2.1.10", "out_octets": "1.3.6.1.2.1.2.2.1.16"}
_IF_X_TABLE = {
    "name": "1.3.6.1.2.1.31.1.1.1.1",
    "high_speed": "1.3.6.1.2.1.31.1.1.1.15",
    "alias": "1.3.6.1.2.1.31.1.1.1.18",
}
_IF_OCTETS_64 = {"in_octets": "1.3.6.1.2.1.31.1.1.1.6", "out_octets": "1.3.6.1.2.1.31.1.1.1.10"}
_HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
_HR_STORAGE = {
    "descr": "1.3.6.1.2.1.25.2.3.1.3",
    "unit": "1.3.6.1.2.1.25.2.3.1.4",
    "size": "1.3.6.1.2.1.25.2.3.1.5",
    "used": "1.3.6.1.2.1.25.2.3.1.6",
}

_AUTH: dict[str, type[BaseAuthKey]] = {
    "md5": Md5Key,
    "sha": Sha1Key,
    "sha224": Sha224Key,
    "sha256": Sha256Key,
    "sha384": Sha384Key,
    "sha512": Sha512Key,
}
_PRIV: dict[str, type[BasePrivKey]] = {"des": DesKey, "aes128": Aes128Key, "aes192": Aes192Key, "aes256": Aes256Key}
_VERSION = {"1": SnmpVersion.v1, "2c": SnmpVersion.v2c, "3": SnmpVersion.v3}

#: Rows per GETBULK, sized so that a reply stays under gufo's limits: it announces a
#: 2048-byte msgMaxSize on v3 (a larger reply ends the walk silently) and receives at most
#: 4080 bytes. A reply one row longer than the table ends the walk in one request, so numeric
#: columns of a 48-port switch take one request each. Text columns can hold long strings.
_REPETITIONS = {  # column: (v1/v2c, v3)
    _IF_X_TABLE["name"]: (40, 25),
    _IF_X_TABLE["alias"]: (20, 12),
    _IF_DESCR: (20, 12),
    _HR_STORAGE["descr"]: (20, 12),
}
_NUMBER_REPETITIONS = (60, 45)
_RECV_BUFFER = 256 * 1024


def auth_key(profile: SnmpProfile) -> BaseAuthKey | None:
    """Return the SNMPv3 authentication key of *profile* for gufo-snmp (None without authentication)."""
    if profile.auth_protocol and profile.auth_key:
        return _AUTH[profile.auth_protocol](profile.auth_key.reveal().encode())
    return None


def priv_key(profile: SnmpProfile) -> BasePrivKey | None:
    """Return the SNMPv3 privacy key of *profile* for gufo-snmp (None without privacy)."""
    if profile.priv_protocol and profile.priv_key:
        return _PRIV[profile.priv_protocol](profile.priv_key.reveal().encode())
    return None


class _StepError(Exception):
    """A poll step failed; carries the status and a message without secrets."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


def _repetitions(column: str, *, v3: bool) -> int:
    return _REPETITIONS.get(column, _NUMBER_REPETITIONS)[1 if v3 else 0]


def _text(value: ValueType) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _int(value: ValueType) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class SnmpPoller:
    """Polls devices over SNMP with their credential profile; never raises for a device's sake."""

    def __init__(self, profiles: Mapping[str, SnmpProfile], defaults: PollClass) -> None:
        self.profiles = profiles
        self.defaults = defaults

    # ---- sessions and error translation -----------------------------------------------------

    def _profile(self, target: Target) -> SnmpProfile:
        if target.snmp is None or target.snmp not in self.profiles:
            raise _StepError(Status.ERROR, f"no SNMP profile {target.snmp!r} in the config")
        return self.profiles[target.snmp]

    def _session(self, target: Target, profile: SnmpProfile) -> SnmpSession:
        timeout = profile.timeout if profile.timeout is not None else self.defaults.timeout
        common = {
            "addr": target.address,
            "port": profile.port,
            "timeout": timeout,
            "version": _VERSION[profile.version],
            "max_repetitions": _NUMBER_REPETITIONS[0],
            "recv_buffer": _RECV_BUFFER,
        }
        if profile.version == "3":
            user = User(profile.user or "", auth_key=auth_key(profile), priv_key=priv_key(profile))
            return SnmpSession(user=user, **common)  # type: ignore[arg-type]
        community = profile.community.reveal() if profile.community else ""
        return SnmpSession(community=community, **common)  # type: ignore[arg-type]

    @asynccontextmanager
    async def _open(self, target: Target) -> AsyncIterator[_Exchange]:
        profile = self._profile(target)
        retries = profile.retries if profile.retries is not None else self.defaults.retries
        exchange = _Exchange(lambda: self._session(target, profile), retries, version=profile.version)
        await exchange.call(exchange.start)
        yield exchange

    async def _run(
        self, target: Target, make: type[_S], body: Callable[[_Exchange], Awaitable[dict[str, object]]]
    ) -> _S:
        started = time.monotonic()
        try:
            async with self._open(target) as exchange:
                values = await body(exchange)
        except _StepError as exc:
            return make(
                device=target.device,
                ts=utcnow(),
                status=exc.status,
                duration=time.monotonic() - started,
                error=str(exc),
            )
        duration = time.monotonic() - started
        return make(device=target.device, ts=utcnow(), status=Status.OK, duration=duration, **values)  # type: ignore[arg-type]

    # ---- poll classes -----------------------------------------------------------------------

    async def system(self, target: Target) -> SystemSample:
        """Poll sysDescr, sysObjectID, sysUpTime and sysName."""

        async def body(exchange: _Exchange) -> dict[str, object]:
            got = await exchange.call(lambda s: s.get_many(_SYSTEM.values()))
            if got.get(SYS_UPTIME) is None:  # v2c/v3 leave a missing OID out; v1 gives None
                raise _StepError(Status.NO_SUCH_OBJECT, "the agent has no sysUpTime.0")
            return {
                "sys_uptime": _int(got.get(SYS_UPTIME)),
                "sys_name": _text(got.get(_SYSTEM["sys_name"])),
                "sys_descr": _text(got.get(_SYSTEM["sys_descr"])),
                "sys_object_id": _text(got.get(_SYSTEM["sys_object_id"])),
            }

        return await self._run(target, SystemSample, body)

    async def interfaces(self, target: Target, *, uptime: int | None = None) -> InterfacesSample:
        """Poll the IF-MIB columns netmon uses, with HC counters where the agent has them.

        *uptime* is a sysUpTime read just before (by `system()`), saving a request; else it is read here.
        """

        async def body(exchange: _Exchange) -> dict[str, object]:
            nonlocal uptime
            if uptime is None:
                uptime = _int(await exchange.call(lambda s: s.get(SYS_UPTIME)))
            columns = {name: await exchange.walk(oid) for name, oid in (_IF_X_TABLE | _IF_STATUS).items()}
            columns["descr"] = {} if columns["name"] else await exchange.walk(_IF_DESCR)
            columns["speed"] = {} if any(columns["high_speed"].values()) else await exchange.walk(_IF_SPEED)
            octets = {}
            bits = 32
            if not exchange.v1:
                octets = {name: await exchange.walk(oid) for name, oid in _IF_OCTETS_64.items()}
                bits = 64 if any(octets.values()) else 32
            if bits == 32:
                octets = {name: await exchange.walk(oid) for name, oid in _IF_OCTETS_32.items()}
            columns |= octets
            return {"sys_uptime": uptime, "interfaces": _interface_rows(columns, bits)}

        return await self._run(target, InterfacesSample, body)

    async def host_resources(self, target: Target) -> HostSample:
        """Poll HOST-RESOURCES-MIB processor load and storage."""

        async def body(exchange: _Exchange) -> dict[str, object]:
            load = await exchange.walk(_HR_PROCESSOR_LOAD)
            storage = {name: await exchange.walk(oid) for name, oid in _HR_STORAGE.items()}
            if not load and not storage["descr"]:
                raise _StepError(Status.NO_SUCH_OBJECT, "the agent has no HOST-RESOURCES-MIB")
            rows = []
            for index, descr in sorted(storage["descr"].items()):
                unit = _int(storage["unit"].get(index)) or 0
                rows.append(
                    StorageRow(
                        index=index,
                        descr=_text(descr),
                        size_bytes=(_int(storage["size"].get(index)) or 0) * unit,
                        used_bytes=(_int(storage["used"].get(index)) or 0) * unit,
                    )
                )
            cpu = tuple(v for _, value in sorted(load.items()) if (v := _int(value)) is not None)
            return {"cpu_load": cpu, "storage": tuple(rows)}

        return await self._run(target, HostSample, body)


def _interface_rows(columns: Mapping[str, Mapping[int, ValueType]], bits: int) -> tuple[InterfaceRow, ...]:
    rows = []
    for index in sorted(set(columns["descr"]) | set(columns["name"])):

        def get(column: str, index: int = index) -> int | None:
            return _int(columns[column].get(index))

        high = get("high_speed")
        speed = high * 1_000_000 if high else get("speed")
        rows.append(
            InterfaceRow(
                if_index=index,
                name=_text(columns["name"].get(index)) or _text(columns["descr"].get(index)),
                alias=_text(columns["alias"].get(index)),
                oper_status=get("oper_status"),
                admin_status=get("admin_status"),
                speed_bps=speed,
                counter_bits=bits,
                in_octets=get("in_octets"),
                out_octets=get("out_octets"),
                in_errors=get("in_errors"),
                out_errors=get("out_errors"),
                in_discards=get("in_discards"),
                out_discards=get("out_discards"),
            )
        )
    return tuple(rows)


class _Exchange:
    """Requests to one device over one session, retried on timeout with a fresh socket."""

    def __init__(self, factory: Callable[[], SnmpSession], retries: int, *, version: str) -> None:
        self._factory = factory
        self._retries = retries
        self._session: SnmpSession | None = None
        self.v1 = version == "1"
        self._v3 = version == "3"

    @staticmethod
    async def start(session: SnmpSession) -> None:
        """Discover the v3 engine and localize keys (a no-op on v1/v2c)."""
        await session.refresh()

    async def call(self, request: Callable[[SnmpSession], Awaitable[_T]]) -> _T:
        """Run one request; retry timeouts on a new session so late replies cannot be mistaken."""
        for attempt in range(self._retries + 1):
            try:
                if self._session is None:  # first use, or a retry: a new socket, so late replies cannot match
                    self._session = self._factory()
                    if attempt:
                        await self._session.refresh()
                return await request(self._session)
            except TimeoutError as exc:
                if "refused" in str(exc.__cause__ or exc):
                    raise _StepError(Status.REFUSED, "connection refused: no SNMP agent listens on that port") from None
                if attempt == self._retries:
                    raise _StepError(Status.TIMEOUT, f"no reply after {attempt + 1} attempts") from None
                self._session = None
            except NoSuchInstance:
                raise _StepError(Status.NO_SUCH_OBJECT, "no such object") from None
            except SnmpAuthError:
                raise _StepError(Status.AUTH_FAILED, "SNMPv3 authentication failed (user, keys or protocols)") from None
            except SnmpDecodeError:
                raise _StepError(Status.BAD_REPLY, "the reply could not be decoded") from None
            except SnmpError as exc:
                raise _StepError(Status.ERROR, f"SNMP error: {type(exc).__name__}") from None
            except OSError as exc:
                raise _StepError(Status.UNREACHABLE, exc.strerror or type(exc).__name__) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def walk(self, column: str) -> dict[int, ValueType]:
        """Walk one table column (GETBULK, or GETNEXT on v1); return values by last sub-identifier."""

        async def run(session: SnmpSession) -> dict[int, ValueType]:
            if self.v1:
                return {int(oid.rsplit(".", 1)[1]): value async for oid, value in session.getnext(column)}
            return await _bulk_column(session, column, _repetitions(column, v3=self._v3))

        return await self.call(run)


async def _bulk_column(session: SnmpSession, column: str, repetitions: int) -> dict[int, ValueType]:
    """Walk a column with GETBULK, a whole response at a time.

    gufo's public iterator yields one varbind per `__anext__`, a Python frame per value (about
    a third of the CPU of an IF-MIB poll); its session already receives whole responses as
    lists. This uses those (underscored; gufo-snmp is pinned below 0.14) and falls back to the
    public iterator if the session lacks them.
    """
    sock = getattr(session, "_sock", None)
    if sock is None or not hasattr(session, "_send") or not hasattr(session, "_recv"):
        return {int(oid.rsplit(".", 1)[1]): v async for oid, v in session.getbulk(column, repetitions)}
    context = GetIter(column, repetitions)
    found: dict[int, ValueType] = {}
    while True:
        await session._send(lambda: sock.send_get_bulk(context))
        batch = await session._recv(lambda: sock.recv_get_bulk(context))
        if not batch:
            return found
        for item in batch:
            if item is None:  # the walk left the column
                return found
            found[int(item[0].rsplit(".", 1)[1])] = item[1]
