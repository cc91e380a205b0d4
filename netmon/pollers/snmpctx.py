"""SNMPv3 requests in a named context (contextName, RFC 3411 3.3.3) over pysnmp 7.

gufo-snmp 0.13, the poller's client, always sends the default (empty) contextName. A v3
profile with a non-empty ``context`` is polled through `ContextSession` instead, which offers
the part of gufo's ``SnmpSession`` that netmon uses (``refresh``, ``get``, ``get_many``,
``getbulk``, ``getnext``, and `ContextSession.fetcher` for `netmon.pollers.snmpwalk`) and
raises gufo's exception types. The poll classes, the walk bounds and the value decoding
(`netmon.pollers.snmptext`) are therefore the same whichever client answers; every other
profile stays on gufo (the hot path).

Values come as gufo gives them: OCTET STRING as bytes, IpAddress as dotted text, an OID as
dotted text without a leading dot, every integer type as int.

pysnmp's outcomes are translated here, in `_check`, and nowhere else: no reply is
``TimeoutError``; noSuchObject/noSuchInstance is ``NoSuchInstance``; tooBig is
``SnmpDecodeError`` (a walk then retries with fewer repetitions); anything else is
`ContextError`, whose message gives the agent's own error and never a secret.

`ContextEngines` holds one poller's pysnmp engines: one per set of v3 credentials (pysnmp's
USM keeps one key set per user name), opened on the running loop at first use and closed by
`ContextEngines.aclose`, or when their owner is dropped (a reload replacing the poll classes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from gufo.snmp import NoSuchInstance, SnmpDecodeError, SnmpError, ValueType
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.proto import errind, rfc1902, rfc1905

from netmon.config import SnmpProfile
from netmon.kernel import Status
from netmon.pollers.snmpwalk import Batch
from netmon.pollers.trapwire import USM_AUTH, USM_PRIV

__all__ = ["Batch", "ContextEngines", "ContextError", "ContextSession"]


_TOO_BIG = 1
_NO_SUCH_NAME = 2
_AUTHORIZATION_ERROR = 16
#: What pysnmp reports when USM refuses a message: the user, keys or protocols are wrong.
_AUTH_INDICATIONS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.UnsupportedSecurityLevel,
    errind.DecryptionError,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
)
_ABSENT = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance)


class ContextError(SnmpError):
    """An agent's error that gufo has no type for; carries the poll status and a message without secrets."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


def _credentials(profile: SnmpProfile) -> bytes:
    """Return a digest of the profile's v3 credentials: profiles that share one share an engine."""
    parts = [
        profile.user or "",
        profile.auth_protocol or "",
        profile.auth_key.reveal() if profile.auth_key else "",
        profile.priv_protocol or "",
        profile.priv_key.reveal() if profile.priv_key else "",
    ]
    return hashlib.sha256("\0".join(parts).encode()).digest()


def _close_all(engines: dict[bytes, Any]) -> None:
    """Close every engine's transport and timer (synchronous: also run by a finalizer)."""
    for engine in engines.values():
        with contextlib.suppress(RuntimeError):  # its loop is already closed: nothing left to close
            engine.close_dispatcher()
    engines.clear()


class ContextEngines:
    """The pysnmp engines of one poller: one per set of v3 credentials, bound to the running loop."""

    def __init__(self) -> None:
        self._engines: dict[bytes, Any] = {}
        self._users: dict[bytes, UsmUserData] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        weakref.finalize(self, _close_all, self._engines)

    def engine(self, profile: SnmpProfile) -> tuple[Any, UsmUserData]:
        """Return the engine and USM user for *profile*, creating them on the running loop at first use."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # opened under another loop (an earlier asyncio.run): unusable here
            _close_all(self._engines)
            self._loop = loop
        key = _credentials(profile)
        if key not in self._engines:
            self._engines[key] = SnmpEngine()
            self._users[key] = UsmUserData(
                profile.user or "",
                authKey=profile.auth_key.reveal() if profile.auth_key else None,
                privKey=profile.priv_key.reveal() if profile.priv_key else None,
                authProtocol=USM_AUTH[profile.auth_protocol] if profile.auth_protocol else None,
                privProtocol=USM_PRIV[profile.priv_protocol] if profile.priv_protocol else None,
            )
        return self._engines[key], self._users[key]

    def __len__(self) -> int:
        """Return how many engines are open."""
        return len(self._engines)

    async def aclose(self) -> None:
        """Close every engine: its socket, and its timer task (awaited, so that no task is left pending)."""
        tickers = [
            e.transport_dispatcher.loopingcall for e in self._engines.values() if e.transport_dispatcher is not None
        ]
        _close_all(self._engines)
        await asyncio.gather(*(t for t in tickers if t is not None), return_exceptions=True)
        await asyncio.sleep(0)  # let the transports' connection_lost run


def _value(value: Any) -> ValueType:
    """Return a pysnmp value as gufo-snmp gives it (see the module docstring)."""
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(octet) for octet in bytes(value))
    if isinstance(value, univ.OctetString):
        return bytes(value)
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.Integer):
        return int(value)
    return None


def _check(context: str, indication: Any, status: Any, binds: Iterable[Any]) -> list[tuple[str, Any]]:
    """Translate one pysnmp outcome; return the varbinds as (dotted OID, pysnmp value).

    Raises:
        TimeoutError: no reply (an agent also drops a request for a context it does not know,
            RFC 3413 3.2 step 5).
        NoSuchInstance: noSuchName.
        SnmpDecodeError: tooBig (the reply would not fit: ask for fewer rows).
        ContextError: any other error indication or error-status, in the agent's words.
    """
    if indication is not None:
        if isinstance(indication, errind.RequestTimedOut):
            raise TimeoutError(str(indication))
        if isinstance(indication, _AUTH_INDICATIONS):
            raise ContextError(Status.AUTH_FAILED, f"SNMPv3 authentication failed: {indication}")
        raise ContextError(Status.ERROR, f"SNMP error: {indication}")
    code = int(status or 0)
    if code == _TOO_BIG:
        raise SnmpDecodeError("tooBig")
    if code == _NO_SUCH_NAME:
        raise NoSuchInstance("noSuchName")
    if code == _AUTHORIZATION_ERROR:
        denied = f"the agent denied access (authorizationError): no view for this user in context {context!r}"
        raise ContextError(Status.AUTH_FAILED, denied)
    if code:
        raise ContextError(Status.ERROR, f"the agent answered {status.prettyPrint()} (error-status {code})")
    return [(str(name), value) for name, value in binds]


class ContextSession:
    """Requests to one device with one v3 profile in its context: the part of gufo's SnmpSession netmon uses."""

    def __init__(self, engines: ContextEngines, address: str, profile: SnmpProfile, timeout: float) -> None:
        self._engines = engines
        self._address = address
        self._profile = profile
        self._timeout = timeout
        self.context = profile.context
        self._context = ContextData(contextName=profile.context.encode())
        self._target: UdpTransportTarget | Udp6TransportTarget | None = None

    async def refresh(self) -> None:
        """Do nothing: pysnmp discovers the agent's engine with the first request."""

    async def _request(
        self, command: Callable[..., Awaitable[Any]], *args: Any, context: Any = None, **options: Any
    ) -> list[Any]:
        engine, user = self._engines.engine(self._profile)
        context = context or self._context
        try:
            if self._target is None:
                kind = Udp6TransportTarget if ":" in self._address else UdpTransportTarget
                self._target = await kind.create((self._address, self._profile.port), timeout=self._timeout, retries=0)
            async with asyncio.timeout(2 * self._timeout + 1):  # pysnmp's own timer fires first
                indication, status, _, binds = await command(
                    engine, user, self._target, context, *args, lookupMib=False, **options
                )
        except (PySnmpError, PyAsn1Error) as exc:
            raise ContextError(Status.ERROR, f"the request could not be made ({type(exc).__name__})") from exc
        return _check(bytes(context.contextName).decode(errors="replace"), indication, status, binds)

    async def get_many(self, oids: Iterable[str]) -> dict[str, ValueType]:
        """GET *oids* in one request; objects the agent does not have are left out (as gufo does)."""
        binds = await self._request(get_cmd, *(ObjectType(ObjectIdentity(oid)) for oid in oids))
        return {oid: _value(value) for oid, value in binds if not isinstance(value, _ABSENT)}

    async def get(self, oid: str) -> ValueType:
        """GET one OID.

        Raises:
            NoSuchInstance: the agent has no such object or instance.
        """
        got = await self.get_many([oid])
        if oid not in got:
            raise NoSuchInstance(oid)
        return got[oid]

    async def answers_default_context(self) -> bool:
        """Tell whether the agent answers these credentials in the default context (any reply, even an error)."""
        try:
            await self._request(get_cmd, ObjectType(ObjectIdentity("1.3.6.1.2.1.1.3.0")), context=ContextData())
        except TimeoutError:
            return False
        except ContextError as exc:  # an error the agent sent is an answer; one pysnmp raised is not
            return not isinstance(exc.__cause__, PySnmpError | PyAsn1Error)
        return True

    def fetcher(self, oid: str, repetitions: int) -> Callable[[], Awaitable[Batch]]:
        """Return a function that sends the next GETBULK (or GETNEXT when *repetitions* is 0) of subtree *oid*.

        Each call returns the reply's rows in order; a row outside the subtree is None and ends
        the batch; endOfMibView ends it too (an empty batch when nothing came before it).
        """
        prefix = oid + "."
        position = oid

        async def fetch() -> Batch:
            nonlocal position
            start = ObjectType(ObjectIdentity(position))
            if repetitions:
                # a non-increasing OID is the walk's to judge (`netmon.pollers.snmpwalk`), as with gufo
                binds = await self._request(bulk_cmd, 0, repetitions, start, ignoreNonIncreasingOid=True)
            else:
                binds = await self._request(next_cmd, start, ignoreNonIncreasingOid=True)
            batch: Batch = []
            for name, value in binds:
                if isinstance(value, rfc1905.EndOfMibView):
                    if batch:
                        batch.append(None)
                    break
                if not name.startswith(prefix):
                    batch.append(None)
                    break
                batch.append((name, _value(value)))
                position = name
            return batch

        return fetch

    async def _rows(self, oid: str, repetitions: int) -> AsyncIterator[tuple[str, ValueType]]:
        fetch = self.fetcher(oid, repetitions)
        while batch := await fetch():
            for item in batch:
                if item is None:
                    return
                yield item

    def getbulk(self, oid: str, max_repetitions: int) -> AsyncIterator[tuple[str, ValueType]]:
        """Iterate subtree *oid* with GETBULK (unbounded: the caller bounds it, as with gufo)."""
        return self._rows(oid, max_repetitions)

    def getnext(self, oid: str) -> AsyncIterator[tuple[str, ValueType]]:
        """Iterate subtree *oid* with GETNEXT (unbounded: the caller bounds it, as with gufo)."""
        return self._rows(oid, 0)
