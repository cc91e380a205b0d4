"""The trap receiver's view of the wire (pysnmp 7, pyasn1): headers, USM keys, varbinds.

pysnmp's and pyasn1's errors are translated here, in `pysnmp_errors`, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.entity import config as snmp_config
from pysnmp.error import PySnmpError
from pysnmp.proto import api
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

from netmon.config import SnmpProfile
from netmon.errors import PollError

__all__ = [
    "LEVELS",
    "SNMP_TRAP_OID",
    "USM_AUTH",
    "USM_PRIV",
    "Header",
    "MalformedError",
    "MasterKeys",
    "interface_of",
    "master_keys",
    "pysnmp_errors",
    "read_header",
]

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
_IF_INDEX = "1.3.6.1.2.1.2.2.1.1."
_IF_INDEXED = ("1.3.6.1.2.1.2.2.1.7.", "1.3.6.1.2.1.2.2.1.8.", "1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.31.1.1.1.1.")
_IF_NAME = ("1.3.6.1.2.1.31.1.1.1.1.", "1.3.6.1.2.1.2.2.1.2.")  # ifName, else ifDescr
_MAX_TEXT = 128
USM_AUTH = {
    "md5": snmp_config.USM_AUTH_HMAC96_MD5,
    "sha": snmp_config.USM_AUTH_HMAC96_SHA,
    "sha224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "sha256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "sha384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "sha512": snmp_config.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 with Blumenthal key extension, as the SNMP poller (gufo-snmp) and net-snmp use.
USM_PRIV = {
    "des": snmp_config.USM_PRIV_CBC56_DES,
    "aes128": snmp_config.USM_PRIV_CFB128_AES,
    "aes192": snmp_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
LEVELS = {"noAuthNoPriv": 0, "authNoPriv": 1, "authPriv": 3}  # msgFlags & 3


MasterKeys = tuple[Any, bytes | None, Any, bytes | None]  # auth protocol, key, priv protocol, key


class MalformedError(PollError):
    """A datagram that is not a decodable SNMP message."""


@dataclass(frozen=True)
class Header:
    """What a datagram says about its sender before pysnmp reads it: version and credentials."""

    version: str
    community: bytes = field(default=b"", repr=False)  # a secret when it is the right one
    engine_id: bytes = b""
    user: str = ""
    level: int = 0


# What pyasn1 raises on some truncated or mistyped input, besides its own PyAsn1Error.
_DECODER_SLIPS = (TypeError, ValueError, IndexError, KeyError, AttributeError)


@contextmanager
def pysnmp_errors(what: str, *, network: bool = False) -> Iterator[None]:
    """Translate pysnmp's and pyasn1's errors: the one place. Messages name the step, never values.

    With *network*, the step decodes bytes from the network: any decoder failure means a malformed datagram.
    """
    try:
        yield
    except PyAsn1Error as exc:  # also pysnmp's ProtocolError
        raise MalformedError(f"{what}: not a valid SNMP message") from exc
    except PySnmpError as exc:
        raise PollError(f"SNMP trap receiver: {what} failed ({type(exc).__name__})") from exc
    except _DECODER_SLIPS as exc:
        if not network:
            raise
        raise MalformedError(f"{what}: not a valid SNMP message ({type(exc).__name__})") from exc


def read_header(datagram: bytes) -> Header:
    """Read a datagram's version and credentials; raise MalformedError if it is no SNMP message."""
    with pysnmp_errors("reading the header", network=True):
        version = int(api.decodeMessageVersion(datagram))
        if version in api.PROTOCOL_MODULES:
            message, _ = decoder.decode(datagram, asn1Spec=api.PROTOCOL_MODULES[version].Message())
            return Header("1" if version == 0 else "2c", community=bytes(message["community"]))
        if version != 3:
            raise MalformedError(f"SNMP version {version}")
        message, _ = decoder.decode(datagram, asn1Spec=SNMPv3Message())
        if int(message["msgGlobalData"]["msgSecurityModel"]) != 3:
            raise MalformedError("not a USM message")
        usm, _ = decoder.decode(bytes(message["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
        flags = bytes(message["msgGlobalData"]["msgFlags"])
        return Header(
            "3",
            engine_id=bytes(usm["msgAuthoritativeEngineId"]),
            user=bytes(usm["msgUserName"]).decode("utf-8", errors="replace"),
            level=flags[0] & 3 if flags else 0,
        )


def master_keys(profile: SnmpProfile) -> MasterKeys:
    """Hash the profile's passphrases into master keys once (RFC 3414 A.2.1: about a megabyte each)."""
    auth = USM_AUTH[profile.auth_protocol] if profile.auth_protocol else snmp_config.USM_AUTH_NONE
    priv = USM_PRIV[profile.priv_protocol] if profile.priv_protocol else snmp_config.USM_PRIV_NONE
    auth_key = priv_key = None
    if profile.auth_key is not None:
        auth_key = bytes(snmp_config.AUTH_SERVICES[auth].hash_passphrase(profile.auth_key.reveal().encode()))
    if profile.priv_key is not None:
        priv_key = bytes(snmp_config.PRIV_SERVICES[priv].hash_passphrase(auth, profile.priv_key.reveal().encode()))
    return auth, auth_key, priv, priv_key


def interface_of(values: Mapping[str, Any]) -> tuple[int | None, str | None]:
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
