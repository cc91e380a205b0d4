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
v3 informs (where the receiver is the authoritative engine) are not supported yet: counted
as `unsupported`. v1/v2c informs are answered. pysnmp decrypts (DES, AES) only with the
`cryptography` package, which it does not require: without it authPriv traps are counted as
`unsupported` and a warning at start names the package.

pysnmp's and pyasn1's errors are translated in `_pysnmp` and nowhere else.
"""

from __future__ import annotations

import asyncio
import hmac
import importlib.util
import socket
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Self

from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config as snmp_config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.error import PySnmpError
from pysnmp.proto import api, rfc1902
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from netmon.config import SnmpProfile, TrapConfig
from netmon.errors import PollError
from netmon.pollers.base import ValueObject, utcnow

__all__ = ["COUNTS", "TRAP_NAMES", "TrapEvent", "TrapReceiver"]

#: The traps that call `on_trap`, by snmpTrapOID.
TRAP_NAMES = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
}
#: Every outcome a datagram is counted under.
COUNTS = (
    "accepted",  # a trap in TRAP_NAMES, delivered to on_trap
    "ignored",  # authentic, but another notification type
    "unknown_source",  # the source address is no device of the inventory
    "bad_community",  # v1/v2c with a community other than the device's profile's
    "bad_auth",  # v3 with another user, level or keys than the device's profile's
    "malformed",  # not an SNMP message, or a v1/v2c one pysnmp could not decode
    "unsupported",  # v3 informs and engine discovery; authPriv without the cryptography package
    "error",  # pysnmp or on_trap failed on it (logged)
)
_SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
_IF_INDEX = "1.3.6.1.2.1.2.2.1.1."
_IF_INDEXED = ("1.3.6.1.2.1.2.2.1.7.", "1.3.6.1.2.1.2.2.1.8.", "1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.31.1.1.1.1.")
_IF_NAME = ("1.3.6.1.2.1.31.1.1.1.1.", "1.3.6.1.2.1.2.2.1.2.")  # ifName, else ifDescr
_MAX_TEXT = 128
_MAX_ENGINES = 4096  # (engine ID, user) pairs registered with pysnmp; least recently used go first
_WARN_EVERY = 300.0  # seconds between two warnings for one source and reason
_MAX_WARNED = 1024
_AUTH = {
    "md5": snmp_config.USM_AUTH_HMAC96_MD5,
    "sha": snmp_config.USM_AUTH_HMAC96_SHA,
    "sha224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "sha256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "sha384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "sha512": snmp_config.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 with Blumenthal key extension, as the SNMP poller (gufo-snmp) and net-snmp use.
_PRIV = {
    "des": snmp_config.USM_PRIV_CBC56_DES,
    "aes128": snmp_config.USM_PRIV_CFB128_AES,
    "aes192": snmp_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
_LEVELS = {"noAuthNoPriv": 0, "authNoPriv": 1, "authPriv": 3}  # msgFlags & 3
_CAN_DECRYPT = importlib.util.find_spec("cryptography") is not None  # pysnmp's privacy needs it


@dataclass(frozen=True, kw_only=True)
class TrapEvent(ValueObject):
    """An accepted trap: which device sent what. The daemon polls the device; the trap sets no state."""

    kind: ClassVar[str] = "trap"
    ts: datetime
    source: str
    device: str
    trap: str  # linkDown, linkUp, coldStart, warmStart
    version: str  # 1, 2c or 3
    if_index: int | None = None
    if_name: str | None = None


class _MalformedError(PollError):
    """A datagram that is not a decodable SNMP message."""


@dataclass(frozen=True)
class _Header:
    version: str
    community: bytes = b""
    engine_id: bytes = b""
    user: str = ""
    level: int = 0


@dataclass
class _Current:
    """The datagram pysnmp is processing, and what became of it."""

    source: str
    device: str
    version: str
    outcome: str | None = None
    event: TrapEvent | None = None


# What pyasn1 raises on some truncated or mistyped input, besides its own PyAsn1Error.
_DECODER_SLIPS = (TypeError, ValueError, IndexError, KeyError, AttributeError)


@contextmanager
def _pysnmp(what: str, *, network: bool = False) -> Iterator[None]:
    """Translate pysnmp's and pyasn1's errors: the one place. Messages name the step, never values.

    With *network*, the step decodes bytes from the network: any decoder failure means a malformed datagram.
    """
    try:
        yield
    except PyAsn1Error as exc:  # also pysnmp's ProtocolError
        raise _MalformedError(f"{what}: not a valid SNMP message") from exc
    except PySnmpError as exc:
        raise PollError(f"SNMP trap receiver: {what} failed ({type(exc).__name__})") from exc
    except _DECODER_SLIPS as exc:
        if not network:
            raise
        raise _MalformedError(f"{what}: not a valid SNMP message ({type(exc).__name__})") from exc


def _header(datagram: bytes) -> _Header:
    with _pysnmp("reading the header", network=True):
        version = int(api.decodeMessageVersion(datagram))
        if version in api.PROTOCOL_MODULES:
            message, _ = decoder.decode(datagram, asn1Spec=api.PROTOCOL_MODULES[version].Message())
            return _Header("1" if version == 0 else "2c", community=bytes(message["community"]))
        if version != 3:
            raise _MalformedError(f"SNMP version {version}")
        message, _ = decoder.decode(datagram, asn1Spec=SNMPv3Message())
        if int(message["msgGlobalData"]["msgSecurityModel"]) != 3:
            raise _MalformedError("not a USM message")
        usm, _ = decoder.decode(bytes(message["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
        flags = bytes(message["msgGlobalData"]["msgFlags"])
        return _Header(
            "3",
            engine_id=bytes(usm["msgAuthoritativeEngineId"]),
            user=bytes(usm["msgUserName"]).decode("utf-8", errors="replace"),
            level=flags[0] & 3 if flags else 0,
        )


class TrapReceiver:
    """Listens for traps on `config.listen`; accepted ones go to `on_trap`, every datagram to `counts`.

    *devices* returns address -> (device name, profile name) for the inventory's devices; it is
    called per datagram, so a reload takes effect at once. *profiles* are the config's
    snmp_profiles. *on_trap* runs on the event loop and must not block.
    """

    def __init__(
        self,
        config: TrapConfig,
        profiles: Mapping[str, SnmpProfile],
        devices: Callable[[], Mapping[str, tuple[str, str | None]]],
        on_trap: Callable[[TrapEvent], None],
        *,
        log: Any,
    ) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self._profiles = profiles
        self._devices = devices
        self._on_trap = on_trap
        self._log = log
        self._engine: Any = None
        self._receiver: Any = None
        self._sock: socket.socket | None = None
        self._master: dict[str, tuple[Any, bytes | None, Any, bytes | None]] = {}
        self._engines: OrderedDict[tuple[bytes, str], str] = OrderedDict()
        self._warned: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._current: _Current | None = None  # the datagram pysnmp is processing now

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
        with _pysnmp("starting"):
            self._engine = engine = SnmpEngine()
            dispatcher = AsyncioDispatcher(loop=loop)
            dispatcher.set_timer_resolution(1.0)  # USM housekeeping; the default ticks every 0.1 s
            # The engine's own receive callback is never routed to: ours (the default) checks first.
            engine.register_transport_dispatcher(dispatcher, recvId="netmon-unused")
            dispatcher.register_recv_callback(self._receive)
            for name, profile in self._profiles.items():
                if profile.community is not None:
                    snmp_config.add_v1_system(engine, f"netmon-{name}", profile.community.reveal())
                elif profile.version == "3":
                    self._master[name] = _master_keys(profile)
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
        try:
            header = _header(datagram)
        except _MalformedError:
            self._drop("malformed", source, None)
            return
        known = self._devices().get(source)
        if known is None:
            self._drop("unknown_source", source, header.version)
            return
        device, profile_name = known
        reason = self._check(header, profile_name)
        if reason is not None:
            self._drop(reason, source, header.version, device=device)
            return
        current = self._current = _Current(source, device, header.version)
        try:
            with _pysnmp("processing a trap", network=True):
                self._engine.message_dispatcher.receive_message(self._engine, domain, address, datagram)
        except _MalformedError:
            current.outcome = "bad_auth" if header.version == "3" else "malformed"
        except PollError as exc:
            current.outcome = "error"
            self._log.warning("SNMP trap processing failed", source=source, device=device, error=str(exc))
        finally:
            self._current = None
        # pysnmp calls _notified only for an authentic, decodable notification
        outcome = current.outcome or ("bad_auth" if header.version == "3" else "malformed")
        event = current.event
        if outcome in ("accepted", "ignored", "error"):
            self.counts[outcome] += 1
        else:
            self._drop(outcome, source, header.version, device=device)
        if event is not None:
            self._log.info("SNMP trap", device=device, source=source, trap=event.trap, if_index=event.if_index)
            try:
                self._on_trap(event)
            except Exception:  # noqa: BLE001 (a failing consumer must not stop the receiver)
                self.counts["error"] += 1
                self._log.exception("on_trap failed", device=device, trap=event.trap)

    def _check(self, header: _Header, profile_name: str | None) -> str | None:
        """Return why the header does not match the device's profile, or None."""
        profile = self._profiles.get(profile_name) if profile_name else None
        if header.version != "3":
            community = profile.community.reveal().encode() if profile and profile.community else None
            ok = community is not None and hmac.compare_digest(community, header.community)
            return None if ok else "bad_community"
        if not header.engine_id or header.engine_id == bytes(self._engine.snmpEngineID):
            return "unsupported"
        if profile is None or profile_name not in self._master or header.user != profile.user:
            return "bad_auth"
        if header.level != _LEVELS[profile.security_level]:
            return "bad_auth"  # pysnmp does not hold a non-authoritative sender to the user's level
        if header.level == _LEVELS["authPriv"] and not _CAN_DECRYPT:
            return "unsupported"
        self._register(header.engine_id, profile_name)
        return None

    def _register(self, engine_id: bytes, profile_name: str) -> None:
        """Make pysnmp know the profile's user for *engine_id*, keys localized to it."""
        user = self._profiles[profile_name].user or ""
        key = (engine_id, user)
        if self._engines.get(key) != profile_name:
            auth, auth_key, priv, priv_key = self._master[profile_name]
            with _pysnmp("registering a v3 user"):
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
            with _pysnmp("forgetting a v3 engine ID"):
                snmp_config.delete_v3_user(self._engine, old_user, rfc1902.OctetString(old_engine))

    def _notified(
        self, _engine: object, _ref: object, _ctx_engine: object, _ctx_name: object, var_binds: Any, _cb_ctx: object
    ) -> None:
        """Take pysnmp's callback for an authentic notification of the datagram now in `_receive`."""
        current = self._current
        if current is None:
            return
        values = {str(oid): value for oid, value in var_binds}
        trap_oid = str(values.get(_SNMP_TRAP_OID, ""))
        name = TRAP_NAMES.get(trap_oid)
        current.outcome = "accepted" if name else "ignored"
        if name is None:
            self._log.debug("SNMP trap ignored", device=current.device, trap_oid=trap_oid[:_MAX_TEXT])
            return
        if_index, if_name = _interface(values)
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
        """Count a dropped datagram; warn at most every `_WARN_EVERY` seconds per source and reason."""
        self.counts[reason] += 1
        now = asyncio.get_running_loop().time()
        key = (source, reason)
        last = self._warned.get(key)
        if last is not None and now - last < _WARN_EVERY:
            return
        self._warned[key] = now
        self._warned.move_to_end(key)
        while len(self._warned) > _MAX_WARNED:
            self._warned.popitem(last=False)
        self._log.warning("SNMP trap dropped", reason=reason, source=source, device=device, version=version)


def _master_keys(profile: SnmpProfile) -> tuple[Any, bytes | None, Any, bytes | None]:
    """Hash the profile's passphrases into master keys once (RFC 3414 A.2.1: about a megabyte each)."""
    auth = _AUTH[profile.auth_protocol] if profile.auth_protocol else snmp_config.USM_AUTH_NONE
    priv = _PRIV[profile.priv_protocol] if profile.priv_protocol else snmp_config.USM_PRIV_NONE
    auth_key = priv_key = None
    if profile.auth_key is not None:
        auth_key = bytes(snmp_config.AUTH_SERVICES[auth].hash_passphrase(profile.auth_key.reveal().encode()))
    if profile.priv_key is not None:
        priv_key = bytes(snmp_config.PRIV_SERVICES[priv].hash_passphrase(auth, profile.priv_key.reveal().encode()))
    return auth, auth_key, priv, priv_key


def _interface(values: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """Return (ifIndex, ifName or ifDescr) from a trap's varbinds, where present."""
    if_index = if_name = None
    for oid, value in values.items():
        if oid.startswith(_IF_INDEX) and isinstance(value, univ.Integer):
            if_index = int(value)
        elif if_index is None and oid.startswith(_IF_INDEXED) and oid.rpartition(".")[2].isdigit():
            if_index = int(oid.rpartition(".")[2])
        named = oid.startswith(_IF_NAME) and isinstance(value, univ.OctetString)
        if named and (if_name is None or oid.startswith(_IF_NAME[0])):
            if_name = bytes(value).decode("utf-8", errors="replace")[:_MAX_TEXT]
    return if_index, if_name
