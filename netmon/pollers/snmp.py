"""SNMP poller (gufo-snmp): system group, IF-MIB interfaces, HOST-RESOURCES.

One session per device poll (a gufo session carries one request at a time), bounded GETBULK
column walks on v2c/v3 and GETNEXT on v1 (`netmon.pollers.snmpwalk`), interface rows assembled
by `netmon.pollers.ifmib`, values decoded by `netmon.pollers.snmptext`. Timeouts and retries
come from the credential profile, else from the poll class. Every failure becomes a Sample
status; the clients' exceptions are translated in one place (`netmon.pollers.snmpexchange`).

A v3 profile with a ``context`` is polled over pysnmp (`netmon.pollers.snmpctx`: gufo-snmp
0.13 cannot send a contextName), through the same `Exchange` with gufo's exception types;
the poller's pysnmp engines are imported, made and closed (`SnmpPoller.aclose`) only then.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    Md5Key,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpVersion,
    User,
    ValueType,
)
from gufo.snmp.aio.client import SnmpSession
from gufo.snmp.user import BaseAuthKey, BasePrivKey

from netmon.config import PollClass, SnmpProfile
from netmon.pollers.base import (
    HostSample,
    InterfacesSample,
    Sample,
    Status,
    StorageRow,
    SystemSample,
    Target,
    utcnow,
)
from netmon.pollers.ifmib import (
    IF_COLUMNS,
    IF_DESCR,
    IF_OCTETS_32,
    IF_OCTETS_64,
    interface_rows,
    needs_descr,
    needs_octets_32,
)
from netmon.pollers.ifplan import BUDGET, BUDGET_V3, IF_NUMBER, IndexPlan, plan_from_walk
from netmon.pollers.share import LoopShare
from netmon.pollers.snmpexchange import HR_STORAGE_DESCR, NUMBER_REPETITIONS, Exchange, StepError
from netmon.pollers.snmptext import as_enum, as_int, as_unsigned32

if TYPE_CHECKING:
    from netmon.pollers.snmpctx import ContextEngines, ContextSession

__all__ = ["SnmpPoller", "auth_key", "priv_key"]

_S = TypeVar("_S", bound=Sample)

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
_SYSTEM = {
    "sys_descr": "1.3.6.1.2.1.1.1.0",
    "sys_object_id": "1.3.6.1.2.1.1.2.0",
    "sys_uptime": SYS_UPTIME,
    "sys_name": "1.3.6.1.2.1.1.5.0",
}
_HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
_HR_STORAGE = {
    "descr": HR_STORAGE_DESCR,
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


class SnmpPoller:
    """Polls devices over SNMP with their credential profile; never raises for a device's sake."""

    def __init__(self, profiles: Mapping[str, SnmpProfile], defaults: PollClass) -> None:
        self.profiles = profiles
        self.defaults = defaults
        self._contexts: ContextEngines | None = None  # pysnmp, for v3 profiles with a context only
        self._plans: dict[str, IndexPlan] = {}  # by device: the cells its last complete walk found
        #: By device, then column: a smaller GETBULK its agent took after refusing a larger one (`Exchange`)
        self._bulk_caps: dict[str, dict[str, int]] = {}

    async def aclose(self) -> None:
        """Close the pysnmp engines of context profiles, if any were opened (gufo sessions hold nothing)."""
        if self._contexts is not None:
            await self._contexts.aclose()

    # ---- sessions and error translation -----------------------------------------------------

    def _profile(self, target: Target) -> SnmpProfile:
        if target.snmp is None or target.snmp not in self.profiles:
            raise StepError(Status.ERROR, f"no SNMP profile {target.snmp!r} in the config")
        return self.profiles[target.snmp]

    def _session(self, target: Target, profile: SnmpProfile) -> SnmpSession | ContextSession:
        timeout = profile.timeout if profile.timeout is not None else self.defaults.timeout
        if profile.version == "3" and profile.context:
            from netmon.pollers.snmpctx import ContextEngines, ContextSession  # noqa: PLC0415 (pysnmp: context only)

            if self._contexts is None:
                self._contexts = ContextEngines()
            return ContextSession(self._contexts, target.address, profile, timeout)
        common = {
            "addr": target.address,
            "port": profile.port,
            "timeout": timeout,
            "version": _VERSION[profile.version],
            "max_repetitions": NUMBER_REPETITIONS[0],
            "recv_buffer": _RECV_BUFFER,
        }
        if profile.version == "3":
            user = User(profile.user or "", auth_key=auth_key(profile), priv_key=priv_key(profile))
            return SnmpSession(user=user, **common)  # type: ignore[arg-type]
        community = profile.community.reveal() if profile.community else ""
        return SnmpSession(community=community, **common)  # type: ignore[arg-type]

    @asynccontextmanager
    async def _open(self, target: Target) -> AsyncIterator[Exchange]:
        profile = self._profile(target)
        retries = profile.retries if profile.retries is not None else self.defaults.retries
        exchange = Exchange(
            lambda: self._session(target, profile),
            retries,
            version=profile.version,
            text=profile.text_encoding,
            context=profile.context if profile.version == "3" else "",
            bulk_caps=self._bulk_caps.get(target.device),
        )
        try:
            await exchange.call(exchange.start)
            yield exchange
        finally:
            if exchange.bulk_caps:
                self._bulk_caps[target.device] = exchange.bulk_caps

    async def _run(
        self, target: Target, make: type[_S], body: Callable[[Exchange], Awaitable[dict[str, object]]]
    ) -> _S:
        started = time.monotonic()
        try:
            async with self._open(target) as exchange:
                values = await body(exchange)
        except StepError as exc:
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
        """Poll sysDescr, sysObjectID, sysUpTime and sysName; keep whichever of them answered.

        An SNMPv1 agent answers a GET naming one missing OID with noSuchName for the whole PDU
        (RFC 1157 4.1.2); gufo hides the error-index, so the four OIDs are then asked one by one.
        A missing sysUpTime.0 leaves ``sys_uptime`` None (counter discontinuities unknown), and a
        missing sysName/sysDescr/sysObjectID leaves that field None: absent is not "" (an empty
        sysName is, RFC 3418 "If the name is unknown, the value is the zero-length string"); the
        sample is NO_SUCH_OBJECT only when none of the four answered.
        """

        async def body(exchange: Exchange) -> dict[str, object]:
            got = await exchange.call(lambda s: s.get_many(_SYSTEM.values()))
            if exchange.v1 and len(got) < len(_SYSTEM):
                got = {oid: value for oid in _SYSTEM.values() if (value := await exchange.get(oid)) is not None}
            if not got:
                raise StepError(Status.NO_SUCH_OBJECT, "the agent has no sysDescr, sysObjectID, sysUpTime, sysName")
            texts = {name: exchange.text(got[oid]) for name, oid in _SYSTEM.items() if oid in got}
            return {
                "sys_uptime": as_int(got.get(SYS_UPTIME)),
                "sys_name": texts.get("sys_name"),
                "sys_descr": texts.get("sys_descr"),
                "sys_object_id": texts.get("sys_object_id"),
            }

        return await self._run(target, SystemSample, body)

    async def interfaces(self, target: Target, *, uptime: int | None = None) -> InterfacesSample:
        """Poll the IF-MIB columns netmon uses (rules: `netmon.pollers.ifmib`).

        *uptime* is a sysUpTime read just before (by `system()`), saving a request; else it is
        read here, and an agent without it still has its interfaces polled (``sys_uptime`` None).
        """

        async def body(exchange: Exchange) -> dict[str, object]:
            nonlocal uptime
            if uptime is None:
                uptime = as_int(await exchange.get(SYS_UPTIME))
            columns = None if exchange.v1 else await self._by_plan(exchange, target, uptime)
            if columns is None:
                columns = await self._walk_interfaces(exchange, target, uptime)
            await LoopShare.of().turn()  # a 48-port switch's rows take a millisecond: in the polls' share
            return {
                "sys_uptime": uptime,
                "interfaces": interface_rows(columns, fallback=exchange.fallback),
                "walk_notes": tuple(exchange.notes),
            }

        return await self._run(target, InterfacesSample, body)

    async def _walk_interfaces(
        self, exchange: Exchange, target: Target, uptime: int | None
    ) -> dict[str, dict[int, ValueType]]:
        """Walk the IF-MIB columns; keep a GET plan of what a complete walk found (`netmon.pollers.ifplan`)."""
        now = time.monotonic()
        old = self._plans.get(target.device)
        if old is not None and not old.current(address=target.address, profile=target.snmp or "", now=now):
            old = None  # another address or profile, or time to start afresh
        if_number: ValueType = None
        planned = not exchange.v1 and (old is None or old.by_get)  # else: GETs failed here, walk until refresh
        if planned:
            try:  # read before the walk, so that a change during the walk shows in the next GET
                if_number = await exchange.get(IF_NUMBER)
            except StepError:
                planned = False  # walk as ever; the next poll tries again
        oids = dict(IF_COLUMNS)
        columns = {name: await exchange.walk(oid) for name, oid in IF_COLUMNS.items()}
        if not exchange.v1:
            oids |= {"hc_in_octets": IF_OCTETS_64["in_octets"], "hc_out_octets": IF_OCTETS_64["out_octets"]}
            columns["hc_in_octets"] = await exchange.walk(IF_OCTETS_64["in_octets"])
            columns["hc_out_octets"] = await exchange.walk(IF_OCTETS_64["out_octets"])
        if needs_descr(columns):
            oids["descr"] = IF_DESCR
            columns["descr"] = await exchange.walk(IF_DESCR)
        if needs_octets_32(columns):
            oids |= IF_OCTETS_32
            columns |= {name: await exchange.walk(oid) for name, oid in IF_OCTETS_32.items()}
        if exchange.notes or exchange.v1:  # a walk cut short is walked again next time, notes and all
            self._plans.pop(target.device, None)
        if not planned or exchange.notes:
            return columns
        plan = plan_from_walk(
            columns,
            oids,
            device=target.device,
            address=target.address,
            profile=target.snmp or "",
            if_number=if_number,
            uptime=uptime,
            now=now,
            budget=old.budget if old is not None else BUDGET_V3 if exchange.v3 else BUDGET,
        )
        if old is not None and old.mismatched and (old.cells, old.if_number) == (plan.cells, plan.if_number):
            plan = replace(plan, by_get=False)  # the GETs saw a change that the walk does not: walk it for now
        self._plans[target.device] = plan
        return columns

    async def _by_plan(
        self, exchange: Exchange, target: Target, uptime: int | None
    ) -> dict[str, dict[int, ValueType]] | None:
        """GET the cells of the device's plan; None when it must be walked (`netmon.pollers.ifplan`)."""
        plan = self._plans.get(target.device)
        if plan is None or plan.stale(
            address=target.address, profile=target.snmp or "", uptime=uptime, now=time.monotonic()
        ):
            return None
        columns = plan.columns()
        share = LoopShare.of()
        for request in plan.requests():
            await share.turn()  # as a walk does before each request: replies are handled in the polls' share
            try:
                got = await exchange.call(_get_many([oid for _, _, oid in request]), "IF-MIB cells by ifIndex")
            except StepError:  # a reply cut at the receive buffer, or none
                got = {}
            if not got:  # or tooBig: gufo gives that as a reply without varbinds
                self._plans[target.device] = plan.shrunk()
                return None
            if not plan.read(request, got, columns):
                # the table changed; if the walk finds the same cells, the agent's GETs disagree with its walks
                self._plans[target.device] = replace(plan, mismatched=True)
                return None
        return columns

    async def host_resources(self, target: Target) -> HostSample:
        """Poll HOST-RESOURCES-MIB (RFC 2790) processor load and storage.

        hrStorageSize/hrStorageUsed are Integer32: negative values are read as unsigned 32-bit
        (`as_unsigned32`; -1 is unknown); a negative use that then exceeds the size is unknown
        (None). hrProcessorLoad outside 0..100 is left out; each load keeps its hrDeviceIndex.
        """

        async def body(exchange: Exchange) -> dict[str, object]:
            load = await exchange.walk(_HR_PROCESSOR_LOAD)
            storage = {name: await exchange.walk(oid) for name, oid in _HR_STORAGE.items()}
            if not load and not storage["descr"]:
                raise StepError(Status.NO_SUCH_OBJECT, "the agent has no HOST-RESOURCES-MIB")
            rows = [
                _storage_row(index, exchange.text(descr), storage["unit"], storage["size"], storage["used"])
                for index, descr in sorted(storage["descr"].items())
            ]
            cpus = [(index, v) for index, value in sorted(load.items()) if (v := as_enum(value, 0, 100)) is not None]
            return {
                "cpu_load": tuple(v for _, v in cpus),
                "cpu_index": tuple(index for index, _ in cpus),
                "storage": tuple(rows),
                "walk_notes": tuple(exchange.notes),
            }

        return await self._run(target, HostSample, body)


def _get_many(oids: list[str]) -> Callable[[SnmpSession | ContextSession], Awaitable[dict[str, ValueType]]]:
    return lambda session: session.get_many(oids)


def _storage_row(
    index: int,
    descr: str,
    units: Mapping[int, ValueType],
    sizes: Mapping[int, ValueType],
    used: Mapping[int, ValueType],
) -> StorageRow:
    unit = as_int(units.get(index))
    size = as_unsigned32(sizes.get(index))
    in_use = as_unsigned32(used.get(index))
    if unit is None or unit <= 0:
        return StorageRow(index=index, descr=descr, size_bytes=None, used_bytes=None)
    raw_used = as_int(used.get(index))
    if raw_used is not None and raw_used < 0 and (in_use is None or size is None or in_use > size):
        in_use = None  # a negative use is read unsigned only when it then fits the size
    return StorageRow(
        index=index,
        descr=descr,
        size_bytes=None if size is None else size * unit,
        used_bytes=None if in_use is None else in_use * unit,
    )
