"""SNMP trap receiver (pysnmp 7): v1, v2c and v3 notifications from the inventory's devices.

A datagram goes through `_receive`: its header is read first (who sent it, which community
or v3 user and security level), then checked against the sending device's own profile; only
then does pysnmp's engine authenticate, decrypt and decode it, and hand the PDU to
`_notified`. Each datagram is counted once, by outcome (`COUNTS`). A trap never sets state:
`on_trap` only tells the daemon which device to poll now.

SNMPv3 traps come from any engine ID: a trap's keys are localized to the sender's engine ID
(RFC 3414), which pysnmp only knows for users registered with that engine ID. The receiver
registers the device's user for the engine ID in the header the first time it sees it (from
master keys computed once per profile), keeping at most `_MAX_ENGINES` such entries.
For a v3 inform the receiver is the authoritative engine (RFC 3414, section 1.5.1): the
device's user is registered for the receiver's own engine ID (`traps.engine_id`, stable across
restarts), and a discovery probe (empty engine ID, RFC 3414 section 4) or a message outside the
time window (3.2.7) from a device with a v3 profile is answered by pysnmp with a Report and
counted as `discovery`. v1/v2c informs are answered. pysnmp decrypts (DES, AES) only with the
`cryptography` package, which it does not require: without it authPriv traps are counted as
`unsupported` and a warning at start names the package.

pysnmp's and pyasn1's errors are translated in `trapwire.pysnmp_errors` and nowhere else.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import socket
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config as snmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.proto import rfc1902

from netmon.config import SnmpProfile, TrapConfig
from netmon.errors import PollError
from netmon.kernel import utcnow
from netmon.pollers.ratelimit import TokenBuckets
from netmon.pollers.trapevent import COUNTS, TRAP_NAMES, TrapEvent
from netmon.pollers.trapwire import (
    LEVELS,
    SNMP_TRAP_OID,
    Header,
    MalformedError,
    MasterKeys,
    interface_of,
    master_keys,
    pysnmp_errors,
    read_header,
)

__all__ = ["COUNTS", "TRAP_NAMES", "TrapEvent", "TrapReceiver", "engine_id_of"]

_MAX_TEXT = 128
_RECV_BUFFER = 1 << 20
_MAX_ENGINES = 4096  # (engine ID, user) pairs registered with pysnmp; least recently used go first
_WARN_EVERY = 300.0  # seconds between two warnings for one source and reason
_MAX_WARNED = 1024
_WARN_BUDGET = 20  # warnings per reason per _WARN_EVERY, however many sources (more than _MAX_WARNED too)
_CAN_DECRYPT = importlib.util.find_spec("cryptography") is not None  # pysnmp's privacy needs it
_REPORTED = ("usmStatsUnknownEngineIDs", "usmStatsNotInTimeWindows")  # answered with a Report: not an error
_BOOTS_EPOCH = 1577836800  # 2020-01-01T00:00:00Z: engine boots are seconds since then
_MAX_BOOTS = 2147483646  # RFC 3414 section 2.2.2: at 2147483647 the engine needs new keys
_PYSNMP_ENTERPRISE = b"\x80\x00\x4f\xb8"  # RFC 3411 SnmpEngineID: 1 bit, then pysnmp's enterprise 20408


def _identify(engine: Any, engine_id: bytes, now: float) -> None:
    """Give *engine* its engine ID, and engine boots that grew since the last start (RFC 3414 section 2.2.2).

    A sender that keeps the receiver's engine ID also keeps its boots and time, and refuses a Report
    whose boots did not grow and whose time went back (RFC 3414 section 3.2.7 b): restarted with
    boots 1 and time 0, the receiver would get no inform until the sender forgot it. Boots here are
    seconds since 2020 (no state to keep). pysnmp's own way (`SnmpEngine(snmpEngineID=...)`) keeps
    them in a file under /tmp, which it leaves open.
    """
    mib = engine.get_mib_builder()
    (snmp_engine_id,) = mib.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    snmp_engine_id.syntax = snmp_engine_id.syntax.clone(engine_id)
    engine.snmpEngineID = snmp_engine_id.syntax
    (boots,) = mib.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
    boots.syntax = boots.syntax.clone(min(max(int(now) - _BOOTS_EPOCH, 1), _MAX_BOOTS))


def engine_id_of(config: TrapConfig) -> bytes:
    """Return the receiver's engine ID: the configured one, else RFC 3411 format 4 (text) from the host name.

    A device that sends v3 informs keeps the receiver's engine ID (Cisco IOS has it configured), so it
    must be the same after a restart; pysnmp's default is new at every start.
    """
    if config.engine_id is not None:
        return bytes.fromhex(config.engine_id)
    return _PYSNMP_ENTERPRISE + b"\x04" + f"netmon@{socket.gethostname()}".encode()[:27]


@dataclass
class _Current:
    """The datagram pysnmp is processing, and what became of it."""

    source: str
    device: str
    version: str
    outcome: str | None = None
    event: TrapEvent | None = None


class TrapReceiver:
    """Listens for traps on `config.listen`; accepted ones go to `on_trap`, every datagram to `counts`.

    *devices* returns address -> (device name, profile name) for the inventory's devices; it is
    called per datagram, so a reload takes effect at once. *profiles* are the config's
    snmp_profiles. *on_trap* runs on the event loop and must not block. *clock* (Unix seconds) sets
    the v3 engine boots at start.
    """

    def __init__(
        self,
        config: TrapConfig,
        profiles: Mapping[str, SnmpProfile],
        devices: Callable[[], Mapping[str, tuple[str, str | None]]],
        on_trap: Callable[[TrapEvent], None],
        *,
        log: Any,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self._profiles = profiles
        self._devices = devices
        self._on_trap = on_trap
        self._log = log
        self._clock = clock
        self._engine: Any = None
        self._receiver: Any = None
        self._sock: socket.socket | None = None
        self._master: dict[str, MasterKeys] = {}
        self._engines: OrderedDict[tuple[bytes, str], str] = OrderedDict()
        self._warned: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._warn_budget = TokenBuckets(_WARN_BUDGET / _WARN_EVERY, _WARN_BUDGET)
        self._suppressed: Counter[str] = Counter()  # warnings not logged since the reason's last one
        self._current: _Current | None = None  # the datagram pysnmp is processing now
        #: Per-source token buckets: a flood from one address cannot starve polling (issue 14).
        self.limiter = TokenBuckets(config.rate_limit, config.rate_burst)

    @property
    def engine_id(self) -> bytes:
        """Return the receiver's SNMPv3 engine ID, where v3 informs are sent (RFC 3414)."""
        if self._engine is None:
            raise PollError("the trap receiver is not listening")
        return bytes(self._engine.snmpEngineID)

    @property
    def engine_boots(self) -> int:
        """Return the receiver's SNMPv3 engine boots (RFC 3414 section 2.2.2)."""
        if self._engine is None:
            raise PollError("the trap receiver is not listening")
        mib = self._engine.get_mib_builder()
        return int(mib.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")[0].syntax)

    @property
    def address(self) -> tuple[str, int]:
        """Return the bound (host, port): the real port when the config asks for port 0."""
        if self._sock is None:
            raise PollError("the trap receiver is not listening")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    # ---- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.config.host, self.config.port))
        except OSError as exc:
            sock.close()
            hint = " (ports below 1024 need CAP_NET_BIND_SERVICE; or listen on a high port)"
            raise PollError(f"cannot listen for traps on {self.config.listen}: {exc.strerror}{hint}") from None
        sock.setblocking(False)  # noqa: FBT003 (the socket API's own boolean)
        # a burst (a switch reboot: one linkDown per port) waits here; the kernel caps it at rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECV_BUFFER)
        self._sock = sock
        try:
            self._open(asyncio.get_running_loop(), sock)
        except BaseException:
            await self._close()
            raise
        self._log.info("listening for SNMP traps", listen=f"{self.address[0]}:{self.address[1]}")
        private = sorted(name for name, p in self._profiles.items() if p.priv_protocol)
        if private and not _CAN_DECRYPT:
            self._log.warning(
                "authPriv traps cannot be decrypted without the Python package 'cryptography'; "
                "they are dropped and counted as unsupported",
                profiles=private,
            )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close()

    def _open(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        with pysnmp_errors("starting"):
            self._engine = engine = SnmpEngine()
            _identify(engine, engine_id_of(self.config), self._clock())
            dispatcher = AsyncioDispatcher(loop=loop)
            dispatcher.set_timer_resolution(1.0)  # USM housekeeping; the default ticks every 0.1 s
            # The engine's own receive callback is never routed to: ours (the default) checks first.
            engine.register_transport_dispatcher(dispatcher, recvId="netmon-unused")
            dispatcher.register_recv_callback(self._receive)
            for name, profile in self._profiles.items():
                if profile.community is not None:
                    snmp_config.add_v1_system(engine, f"netmon-{name}", profile.community.reveal())
                elif profile.version == "3":
                    self._master[name] = master_keys(profile)
            transport = udp.UdpAsyncioTransport(loop=loop).open_server_mode(sock=sock)
            snmp_config.add_transport(engine, udp.DOMAIN_NAME, transport)
            self._receiver = ntfrcv.NotificationReceiver(engine, self._notified)

    async def _close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            if self._receiver is not None:
                self._receiver.close(engine)
                self._receiver = None
            dispatcher = engine.transport_dispatcher
            ticker = dispatcher.loopingcall if dispatcher is not None else None
            engine.close_dispatcher()  # closes the transport, cancels the ticker
            if ticker is not None:
                await asyncio.gather(ticker, return_exceptions=True)
            await asyncio.sleep(0)  # let the transport's connection_lost run
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # ---- one datagram ----------------------------------------------------------------------------

    def _receive(self, _dispatcher: object, domain: tuple[int, ...], address: tuple[str, int], datagram: bytes) -> None:
        source = str(address[0])
        if not self.limiter.allow(source, asyncio.get_running_loop().time()):
            self._drop("rate_limited", source, None)
            return
        try:
            header = read_header(datagram)
        except MalformedError:
            self._drop("malformed", source, None)
            return
        known = self._devices().get(source)
        if known is None:
            self._drop("unknown_source", source, header.version)
            return
        device, profile_name = known
        try:
            reason = self._check(header, profile_name)
        except PollError as exc:  # pysnmp refused to register the user for this engine ID
            self.counts["error"] += 1
            self._log.warning("SNMP trap processing failed", source=source, device=device, error=str(exc))
            return
        if reason is not None:
            self._drop(reason, source, header.version, device=device)
            return
        current = self._current = _Current(source, device, header.version)
        reported = self._reported() if header.version == "3" else ()  # only v3 is answered with a Report
        try:
            with pysnmp_errors("processing a trap", network=True):
                self._engine.message_dispatcher.receive_message(self._engine, domain, address, datagram)
        except MalformedError:
            current.outcome = "bad_auth" if header.version == "3" else "malformed"
        except PollError as exc:
            current.outcome = "error"
            self._log.warning("SNMP trap processing failed", source=source, device=device, error=str(exc))
        finally:
            self._current = None
        if current.outcome is None and header.version == "3" and self._reported() != reported:
            current.outcome = "discovery"  # pysnmp answered with a Report: the sender learns the engine, or time
        self._conclude(current)

    def _conclude(self, current: _Current) -> None:
        """Count what became of a datagram pysnmp processed, and hand over its event."""
        # pysnmp calls _notified only for an authentic, decodable notification
        outcome = current.outcome or ("bad_auth" if current.version == "3" else "malformed")
        event = current.event
        if outcome in ("accepted", "ignored", "error", "discovery"):
            self.counts[outcome] += 1
        else:
            self._drop(outcome, current.source, current.version, device=current.device)
        if event is not None:
            self._log.info(
                "SNMP trap", device=current.device, source=current.source, trap=event.trap, if_index=event.if_index
            )
            try:
                self._on_trap(event)
            except Exception:  # noqa: BLE001 (a failing consumer must not stop the receiver)
                self._log.exception("on_trap failed", device=current.device, trap=event.trap)

    def _check(self, header: Header, profile_name: str | None) -> str | None:
        """Return why the header does not match the device's profile, or None."""
        profile = self._profiles.get(profile_name) if profile_name else None
        if header.version != "3":
            community = profile.community.reveal().encode() if profile and profile.community else None
            ok = community is not None and hmac.compare_digest(community, header.community)
            return None if ok else "bad_community"
        if profile is None or profile_name not in self._master:
            return "bad_auth"
        if not header.engine_id:
            return None  # a discovery probe (RFC 3414 section 4): no user, pysnmp answers with its engine ID
        if header.user != profile.user or header.level != LEVELS[profile.security_level]:
            return "bad_auth"  # the level too: pysnmp does not hold a non-authoritative sender to the user's
        if header.level == LEVELS["authPriv"] and not _CAN_DECRYPT:
            return "unsupported"
        self._register(header.engine_id, profile_name)
        return None

    def _reported(self) -> tuple[int, ...]:
        """Return pysnmp's counts of messages it answered with a discovery or time-window Report."""
        mib = self._engine.get_mib_builder()
        return tuple(int(mib.import_symbols("__SNMP-USER-BASED-SM-MIB", name)[0].syntax) for name in _REPORTED)

    def _register(self, engine_id: bytes, profile_name: str) -> None:
        """Make pysnmp know the profile's user for *engine_id*, keys localized to it."""
        user = self._profiles[profile_name].user or ""
        key = (engine_id, user)
        if self._engines.get(key) != profile_name:
            auth, auth_key, priv, priv_key = self._master[profile_name]
            with pysnmp_errors("registering a v3 user"):
                snmp_config.add_v3_user(
                    self._engine,
                    user,
                    auth,
                    auth_key,
                    priv,
                    priv_key,
                    securityEngineId=rfc1902.OctetString(engine_id),
                    authKeyType=snmp_config.USM_KEY_TYPE_MASTER,
                    privKeyType=snmp_config.USM_KEY_TYPE_MASTER,
                )
            self._engines[key] = profile_name
        self._engines.move_to_end(key)
        while len(self._engines) > _MAX_ENGINES:
            (old_engine, old_user), _ = self._engines.popitem(last=False)
            with pysnmp_errors("forgetting a v3 engine ID"):
                snmp_config.delete_v3_user(self._engine, old_user, rfc1902.OctetString(old_engine))

    def _notified(
        self, _engine: object, _ref: object, _ctx_engine: object, _ctx_name: object, var_binds: Any, _cb_ctx: object
    ) -> None:
        """Take pysnmp's callback for an authentic notification of the datagram now in `_receive`."""
        current = self._current
        if current is None:
            return
        values = {str(oid): value for oid, value in var_binds}
        trap_oid = str(values.get(SNMP_TRAP_OID, ""))
        name = TRAP_NAMES.get(trap_oid)
        current.outcome = "accepted" if name else "ignored"
        if name is None:
            self._log.debug("SNMP trap ignored", device=current.device, trap_oid=trap_oid[:_MAX_TEXT])
            return
        if_index, if_name = interface_of(values)
        current.event = TrapEvent(
            ts=utcnow(),
            source=current.source,
            device=current.device,
            trap=name,
            version=current.version,
            if_index=if_index,
            if_name=if_name,
        )

    def _drop(self, reason: str, source: str, version: str | None, *, device: str | None = None) -> None:
        """Count a dropped datagram; warn at most every `_WARN_EVERY` seconds per source and reason.

        Per reason, at most `_WARN_BUDGET` sources warn in `_WARN_EVERY` seconds (a token bucket), then
        one line says that warnings are suppressed; the next warning gives how many were.
        """
        self.counts[reason] += 1
        now = asyncio.get_running_loop().time()
        key = (source, reason)
        last = self._warned.get(key)
        if last is not None and now - last < _WARN_EVERY:
            return
        if not self._warn_budget.allow(reason, now):  # many sources: the per-source limit alone lets each warn
            if not self._suppressed[reason]:
                self._log.warning(
                    f"SNMP traps dropped from more than {_WARN_BUDGET} sources; further warnings are suppressed "
                    "for a while (netmon_traps_total counts every one)",
                    reason=reason,
                )
            self._suppressed[reason] += 1
            return
        self._warned[key] = now
        self._warned.move_to_end(key)
        while len(self._warned) > _MAX_WARNED:
            self._warned.popitem(last=False)
        more = {"suppressed": n} if (n := self._suppressed.pop(reason, 0)) else {}
        self._log.warning("SNMP trap dropped", reason=reason, source=source, device=device, version=version, **more)
