"""Neighbour tables: LLDP-MIB (IEEE 802.1AB) and CISCO-CDP-MIB, read into one adjacency shape.

Read per device: lldpRemTable, lldpRemManAddrTable and lldpLocPortTable (LLDP-MIB), cdpCacheTable
(CISCO-CDP-MIB, where the agent has it), ifName/ifDescr and ifHighSpeed/ifSpeed (IF-MIB, RFC 2863)
and dot1dBasePortIfIndex (BRIDGE-MIB, RFC 4188) to name local ports and give link speeds, and
ipAdEntAddr (IP-MIB, RFC 4293) to know every address a device owns (the station's gateway is one).
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gufo.snmp import ValueType

from netmon.discovery.identify import capabilities
from netmon.discovery.snmpread import Reader, oid_suffix

__all__ = ["DeviceView", "Neighbour", "parse_cdp", "parse_lldp", "read_view"]

_LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
_LLDP_REM_MAN_ADDR = "1.0.8802.1.1.2.1.4.2.1"
_LLDP_LOC_PORT = "1.0.8802.1.1.2.1.3.7.1"
_CDP_CACHE = "1.3.6.1.4.1.9.9.23.1.2.1.1"
_IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
_IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
_IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
_IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
_IP_AD_ENT_ADDR = "1.3.6.1.2.1.4.20.1.1"
_DOT1D_BASE_PORT_IF_INDEX = "1.3.6.1.2.1.17.1.4.1.2"
#: LldpPortIdSubtype / LldpChassisIdSubtype values whose id is text (interfaceAlias, interfaceName, local).
_TEXT_PORT_IDS = {1, 5, 7}
_TEXT_CHASSIS_IDS = {1, 2, 3, 6, 7}
_MAC = 3  # LldpPortIdSubtype macAddress (the chassis subtype is 4)
_NETWORK_ADDRESS = 5  # LldpChassisIdSubtype networkAddress (the port subtype is 4)
#: CISCO-CDP-MIB cdpCacheCapabilities bits (CDP protocol spec): router, bridges, switch, host, phone.
_CDP_CAPS = {0x01: "router", 0x02: "bridge", 0x04: "bridge", 0x08: "bridge", 0x10: "stationOnly", 0x80: "telephone"}


@dataclass(frozen=True, kw_only=True)
class Neighbour:
    """One neighbour seen on one local port."""

    protocol: str  # "lldp" | "cdp"
    local_port: str
    remote_name: str | None = None
    remote_chassis: str | None = None
    remote_chassis_address: str | None = None  # the chassis id, where it is a network address (subtype 5)
    remote_port: str | None = None
    remote_port_subtype: int | None = None  # LldpPortIdSubtype of remote_port (None: CDP's cdpCacheDevicePort)
    remote_descr: str | None = None
    remote_addresses: tuple[str, ...] = ()
    remote_capabilities: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, kw_only=True)
class DeviceView:
    """What one device tells about its ports, addresses and neighbours."""

    address: str
    addresses: frozenset[str] = frozenset()
    ports: dict[str, int | None] = field(default_factory=dict)  # ifName -> speed in Mbit/s
    if_names: dict[int, str] = field(default_factory=dict)  # ifIndex -> ifName (else ifDescr)
    if_descrs: dict[str, str] = field(default_factory=dict)  # ifDescr -> ifName, where one interface has it
    neighbours: tuple[Neighbour, ...] = ()


def _text(value: ValueType | None) -> str:
    if isinstance(value, bytes):
        return value.replace(b"\0", b"").decode("utf-8", errors="replace").strip()
    return "" if value is None else str(value).strip()


def _mac(value: ValueType | None) -> str:
    return ":".join(f"{b:02x}" for b in value) if isinstance(value, bytes) else _text(value)


def _chassis(subtype: ValueType | None, value: ValueType | None) -> str:
    """Return lldpRemChassisId as text by its LldpChassisIdSubtype (IEEE 802.1AB-2005 9.5.2.2).

    networkAddress(5) is an IANA AddressFamilyNumbers octet then the address (`_network_address`);
    macAddress(4) is six octets, else read as text.
    """
    if subtype == _NETWORK_ADDRESS:
        return _network_address(value) or _hex(value)
    if isinstance(value, bytes) and len(value) == 6 and subtype not in _TEXT_CHASSIS_IDS:
        return _mac(value)
    return _text(value)


def _network_address(value: ValueType | None) -> str | None:
    """Decode a networkAddress id: the IANA address family (1 ipv4, 2 ipv6), then the address; None if not."""
    if not isinstance(value, bytes) or not value:
        return None
    return _address(value[0], value[1:])


def _hex(value: ValueType | None) -> str:
    """Return octets that are no known form as colon-separated hex (never control characters)."""
    return ":".join(f"{b:02x}" for b in value) if isinstance(value, bytes) else _text(value)


def _port_id(subtype: ValueType | None, value: ValueType | None, descr: ValueType | None) -> str:
    if subtype in _TEXT_PORT_IDS and _text(value):
        return _text(value)
    if _text(descr):
        return _text(descr)
    return _mac(value) if subtype == _MAC else _text(value)


def _columns(rows: Iterable[tuple[str, ValueType]], base: str) -> dict[int, dict[tuple[int, ...], ValueType]]:
    """Group a table walk by column: {column: {index: value}}."""
    table: dict[int, dict[tuple[int, ...], ValueType]] = defaultdict(dict)
    for oid, value in rows:
        suffix = oid_suffix(oid, base)
        if len(suffix) >= 2:
            table[suffix[0]][suffix[1:]] = value
    return table


def _address(subtype: int, raw: Sequence[int] | bytes) -> str | None:
    """Decode an InetAddress index part (IANA AddressFamilyNumbers: 1 ipv4, 2 ipv6)."""
    try:
        if subtype == 1 and len(raw) == 4:
            return str(ipaddress.IPv4Address(bytes(raw)))
        if subtype == 2 and len(raw) == 16:
            return str(ipaddress.IPv6Address(bytes(raw)))
    except ValueError:
        return None
    return None


def parse_lldp(
    remote: Sequence[tuple[str, ValueType]],
    management: Sequence[tuple[str, ValueType]],
    local_ports: Sequence[tuple[str, ValueType]],
    if_names: dict[int, str],
    base_ports: dict[int, int] | None = None,
) -> list[Neighbour]:
    """Turn LLDP-MIB walks into neighbours, local ports named by ifName (`_local_port`).

    *base_ports* is BRIDGE-MIB's dot1dBasePortIfIndex (dot1dBasePort -> ifIndex), where the agent has it.
    """
    rem = _columns(remote, _LLDP_REM)
    loc = _columns(local_ports, _LLDP_LOC_PORT)
    addresses: dict[tuple[int, int], list[str]] = defaultdict(list)
    for oid, _value in management:
        index = oid_suffix(oid, _LLDP_REM_MAN_ADDR)[1:]  # column, then timeMark.port.rem.subtype.len.addr...
        if len(index) >= 5:
            port, rem_index, subtype, length = index[1], index[2], index[3], index[4]
            found = _address(subtype, index[5 : 5 + length])
            if found is not None and found not in addresses[(port, rem_index)]:
                addresses[(port, rem_index)].append(found)
    neighbours = []
    for index in sorted(rem.get(9, {}).keys() | rem.get(5, {}).keys()):
        if len(index) != 3:
            continue
        _mark, port, rem_index = index
        local = _local_port(port, loc, if_names, base_ports or {})
        caps = rem.get(12, {}).get(index)
        chassis_subtype, chassis = rem.get(4, {}).get(index), rem.get(5, {}).get(index)
        port_subtype = rem.get(6, {}).get(index)
        neighbours.append(
            Neighbour(
                protocol="lldp",
                local_port=local,
                remote_name=_text(rem.get(9, {}).get(index)) or None,
                remote_chassis=_chassis(chassis_subtype, chassis) or None,
                remote_chassis_address=_network_address(chassis) if chassis_subtype == _NETWORK_ADDRESS else None,
                remote_port=_port_id(port_subtype, rem.get(7, {}).get(index), rem.get(8, {}).get(index)) or None,
                remote_port_subtype=port_subtype if isinstance(port_subtype, int) else None,
                remote_descr=_text(rem.get(10, {}).get(index)) or None,
                remote_addresses=tuple(addresses.get((port, rem_index), ())),
                remote_capabilities=capabilities(caps if isinstance(caps, bytes) else None),
            )
        )
    return neighbours


def _local_port(
    number: int,
    loc: dict[int, dict[tuple[int, ...], ValueType]],
    if_names: dict[int, str],
    base_ports: dict[int, int],
) -> str:
    """Name lldpLocPortNum *number*: by its lldpLocPortId/Desc where that is an ifName, else by number.

    LLDP-MIB LldpPortNumber: "A port number has no mandatory relationship to an InterfaceIndex
    object"; on a bridge it "will have the same value as the dot1dBasePort object", else as the
    ifIndex. So a number BRIDGE-MIB's dot1dBasePortIfIndex maps is that interface.
    """
    subtype, value, descr = (loc.get(c, {}).get((number,)) for c in (2, 3, 4))
    if subtype in (5, 7) and _text(value) in if_names.values():
        return _text(value)
    if _text(descr) in if_names.values():
        return _text(descr)
    by_number = if_names.get(base_ports.get(number, number))
    return by_number or _port_id(subtype, value, descr) or f"lldpPort:{number}"


def parse_cdp(cache: Sequence[tuple[str, ValueType]], if_names: dict[int, str]) -> list[Neighbour]:
    """Turn a cdpCacheTable walk (index ifIndex.deviceIndex) into neighbours."""
    table = _columns(cache, _CDP_CACHE)
    neighbours = []
    for index in sorted(table.get(6, {})):
        if len(index) != 2:
            continue
        raw_address = table.get(4, {}).get(index)
        address = None
        if table.get(3, {}).get(index) == 1 and isinstance(raw_address, bytes) and len(raw_address) == 4:
            address = str(ipaddress.IPv4Address(raw_address))
        bits = table.get(9, {}).get(index)
        mask = int.from_bytes(bits, "big") if isinstance(bits, bytes) else 0
        device_id = _text(table[6][index])
        neighbours.append(
            Neighbour(
                protocol="cdp",
                local_port=if_names.get(index[0], f"ifIndex:{index[0]}"),
                remote_name=device_id.split("(")[0].strip() or None,  # NX-OS appends "(serial)"
                remote_port=_text(table.get(7, {}).get(index)) or None,
                remote_descr=_text(table.get(8, {}).get(index)) or None,
                remote_addresses=(address,) if address else (),
                remote_capabilities=frozenset(name for bit, name in _CDP_CAPS.items() if mask & bit),
            )
        )
    return neighbours


async def read_view(reader: Reader) -> DeviceView:
    """Read one device's ports, addresses and LLDP/CDP neighbours (an agent without a table has none)."""
    names = {oid_suffix(o, _IF_NAME)[0]: _text(v) for o, v in await reader.walk(_IF_NAME) if _text(v)}
    descrs = {oid_suffix(o, _IF_DESCR)[0]: _text(v) for o, v in await reader.walk(_IF_DESCR) if _text(v)}
    for index, descr in descrs.items():
        names.setdefault(index, descr)
    spelled = Counter(descrs.values())
    speeds: dict[int, int | None] = {}
    for oid, value in await reader.walk(_IF_HIGH_SPEED):
        speeds[oid_suffix(oid, _IF_HIGH_SPEED)[0]] = value if isinstance(value, int) else None
    if not speeds:
        for oid, value in await reader.walk(_IF_SPEED):
            speeds[oid_suffix(oid, _IF_SPEED)[0]] = value // 1_000_000 if isinstance(value, int) else None
    own = {_ip_text(oid, value) for oid, value in await reader.walk(_IP_AD_ENT_ADDR)}
    neighbours = parse_lldp(
        await reader.walk(_LLDP_REM),
        await reader.walk(_LLDP_REM_MAN_ADDR + ".3"),  # lldpRemManAddrIfSubtype: the index is what counts
        await reader.walk(_LLDP_LOC_PORT),
        names,
        {
            oid_suffix(oid, _DOT1D_BASE_PORT_IF_INDEX)[0]: value
            for oid, value in await reader.walk(_DOT1D_BASE_PORT_IF_INDEX)
            if isinstance(value, int)
        },
    )
    neighbours += parse_cdp(await reader.walk(_CDP_CACHE), names)
    return DeviceView(
        address=reader.address,
        addresses=frozenset(a for a in own if a) | {reader.address},
        ports={name: speeds.get(index) for index, name in names.items()},
        if_names=names,
        if_descrs={descr: names[index] for index, descr in descrs.items() if spelled[descr] == 1},
        neighbours=tuple(neighbours),
    )


def _ip_text(oid: str, value: ValueType) -> str:
    """Return ipAdEntAddr as text (the index is the address too, should the value be odd)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes) and len(value) == 4:
        return str(ipaddress.IPv4Address(value))
    return ".".join(str(p) for p in oid_suffix(oid, _IP_AD_ENT_ADDR))
