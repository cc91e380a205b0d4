"""Inventory records as validated values: what a file says and what the database holds."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from netmon.inventory.models import CommuneType, Level, LinkKind, Role, ServiceCheck
from netmon.inventory.targets import check_one_host, parse_expect_status, parse_host_port, parse_url

__all__ = [
    "KINDS",
    "DeviceSpec",
    "Inventory",
    "LinkSpec",
    "Origin",
    "Record",
    "ServiceSpec",
    "Spec",
    "UnitSpec",
    "unit_on",
]

_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
_TAG = re.compile(r"^[A-Za-z0-9_.:/-]+$")
#: Digits in groups of three after a separator: 1.000 (vi-VN), 1,000 (en-US), 1 000, 1'000. Ambiguous
#: where "." or "," is also the decimal mark, so refused; "12.0" or "12,5" are not groupings.
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:[.,' \u00a0\u202f][0-9]{3})+")


def _blank_to_none(value: object) -> object:
    """Treat an empty or all-blank text as absent (CSV cells, `provider: ""`)."""
    return None if isinstance(value, str) and not value.strip() else value


def _strip(value: object) -> object:
    """Trim a text and normalise it to Unicode NFC, so that NFD input (macOS, some Excel exports) changes nothing."""
    return unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else value


def _choice(value: object) -> object:
    """Trim a choice cell (" province ", "switch ") and fold its case; NFC for Vietnamese choices."""
    return unicodedata.normalize("NFC", value.strip().lower()) if isinstance(value, str) else value


#: Line breaks and tabs: a name's cell in Excel may hold them (Alt+Enter); they become spaces.
_BREAKS = frozenset("\t\n\r\x0b\x0c\x85\u2028\u2029")


def _visible(value: str) -> str:
    """Refuse control and format characters in a name; make line breaks and space separators (NBSP) plain spaces.

    A format character (Unicode category Cf: bidi overrides, zero-width spaces) can make a name read
    as another one in a report or an alert (CVE-2021-42574, "Trojan Source").
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf") and char not in _BREAKS:
            raise ValueError(f"holds the invisible character U+{ord(char):04X}; remove it")
    return "".join(" " if char in _BREAKS or unicodedata.category(char) == "Zs" else char for char in value)


Key = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=64, pattern=_CODE)]
Name = Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=255), AfterValidator(_visible)]
OptDate = Annotated[date | None, BeforeValidator(_blank_to_none), BeforeValidator(_strip)]
OptKey = Annotated[Key | None, BeforeValidator(_blank_to_none)]
OptText = Annotated[
    Annotated[str, Field(max_length=255)] | None, BeforeValidator(_blank_to_none), BeforeValidator(_strip)
]


def _whole_number(value: object) -> object:
    """Refuse a count written with thousands separators: pydantic reads "1.000" (1000 in a vi-VN Excel) as 1.

    "12.0" (a number cell saved with decimals) stays 12, and "12.5" stays pydantic's error.
    """
    if isinstance(value, str) and _GROUPED.fullmatch(value.strip()):
        raise ValueError(f"{value.strip()!r} is not a whole number: write it without separators, e.g. 1000")
    return value


Count = Annotated[
    Annotated[int, Field(ge=0, le=10_000_000)] | None, BeforeValidator(_whole_number), BeforeValidator(_blank_to_none)
]


class Spec(BaseModel):
    """Base of the record kinds: frozen, unknown fields rejected, compared by value."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)
    noun: ClassVar[str]
    plural: ClassVar[str]
    key_field: ClassVar[str]

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """Refuse NUL characters: PostgreSQL text cannot hold them, and SQLite would (issue 15: one rule)."""
        texts = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("NUL characters are not allowed")
        return value

    @property
    def key(self) -> str:
        """Return the natural key (unit code, device or link name)."""
        return str(getattr(self, self.key_field))

    def to_row(self) -> dict[str, Any]:
        """Return the record as plain data, leaving out absent and default values."""
        row: dict[str, Any] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None or (value == info.default and name != self.key_field):
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Level | Role | LinkKind | CommuneType | ServiceCheck):
                value = value.value
            elif isinstance(value, date):
                value = value.isoformat()
            row[name] = value
        return row


class UnitSpec(Spec):
    """An organisational unit: province, department, district (historic) or commune.

    `type` is a commune's type (xã | phường | đặc khu | thị trấn). `valid_from` is the first day the
    unit is in force, `valid_to` the first day it is not (both local dates; None: always). A unit
    that merged into another names it as `successor`: its devices and links count there from
    `valid_to` on. Level `ward` (files from before 2025) is read as `commune`. `poller_group` names
    the poller group that polls the unit's objects (issue 19); absent, the parent unit's, else `default`.
    """

    noun: ClassVar[str] = "unit"
    plural: ClassVar[str] = "units"
    key_field: ClassVar[str] = "code"

    code: Key
    name: Name
    level: Annotated[Level, BeforeValidator(_choice)]
    parent: OptKey = None
    staff: Count = None
    computers: Count = None
    servers: Count = None
    vc_endpoints: Count = None
    type: Annotated[CommuneType | None, BeforeValidator(_blank_to_none), BeforeValidator(_choice)] = None
    valid_from: OptDate = None
    valid_to: OptDate = None
    successor: OptKey = None
    poller_group: OptKey = None

    def in_force(self, day: date) -> bool:
        """Tell whether the unit is in force on local *day* (valid_from <= day < valid_to)."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day < self.valid_to)


class DeviceSpec(Spec):
    """A device to monitor, in a unit, behind an optional parent device; `poller_group` absent: its unit's."""

    noun: ClassVar[str] = "device"
    plural: ClassVar[str] = "devices"
    key_field: ClassVar[str] = "name"

    name: Key
    unit: Key
    role: Annotated[Role, BeforeValidator(_choice)]
    address: str
    snmp: OptKey = None
    parent: OptKey = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    previous_unit: OptKey = None
    moved_on: OptDate = None
    poller_group: OptKey = None

    @field_validator("address", mode="before")
    @classmethod
    def _ip(cls, value: object) -> str:
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
        if text is None:
            raise ValueError("must be an IPv4 or IPv6 address")
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None
        # ::ffff:a.b.c.d is the IPv4 host a.b.c.d (RFC 4291 2.5.5.2): stored as IPv4, so the
        # duplicate-address check sees it and ping/SNMP reach it (issue 13)
        # a placeholder such as 0.0.0.0, a group address, or a zone the ping socket refuses
        check_one_host(address, text, noun="device", advice="give its own address, or leave it out until it has one")
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return str(mapped or address)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split()
        if not isinstance(value, list | tuple):
            raise ValueError("must be a list of tags")  # noqa: TRY004 (pydantic reports ValueError only)
        tags: list[str] = []
        for tag in value:
            if not isinstance(tag, str) or not _TAG.match(tag):
                raise ValueError(f"tag {tag!r} must be letters, digits or _ . : / -")
            if tag not in tags:
                tags.append(tag)
        return tuple(tags)


class LinkSpec(Spec):
    """A unit's connection (LAN, Internet, WAN, MAN, TSLCD), optionally on a device interface."""

    noun: ClassVar[str] = "link"
    plural: ClassVar[str] = "links"
    key_field: ClassVar[str] = "name"

    name: Key
    kind: Annotated[LinkKind, BeforeValidator(_choice)]
    unit: Key
    device: OptKey = None
    interface: OptText = None
    capacity_mbps: Count = None
    provider: OptText = None
    previous_unit: OptKey = None
    moved_on: OptDate = None
    poller_group: OptKey = None


class ServiceSpec(Spec):
    """A service of the province checked over the network: an HTTP(S) URL or a TCP HOST:PORT.

    `url` belongs to `check: http`, `address` to `check: tcp`; the import plan checks that each
    check has its own field (issue 11, item 5). `expect_status` is a canonical list such as
    "200" or "200-299,301" (accepted HTTP status codes, RFC 9110 section 15); `timeout` is in
    seconds and overrides the poll class's. `body_match` is a Python regular expression searched
    in the first bytes of the body.
    """

    noun: ClassVar[str] = "service"
    plural: ClassVar[str] = "services"
    key_field: ClassVar[str] = "name"

    name: Key
    unit: Key
    check: Annotated[ServiceCheck, BeforeValidator(_choice)]
    device: OptKey = None
    url: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    address: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    expect_status: str = "200"
    body_match: OptText = None
    timeout: Annotated[Annotated[float, Field(gt=0, le=60)] | None, BeforeValidator(_blank_to_none)] = None
    tls_verify: bool = True
    enabled: bool = True
    poller_group: OptKey = None

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> object:
        return None if value is None else parse_url(value)

    @field_validator("address", mode="before")
    @classmethod
    def _address(cls, value: object) -> object:
        if value is None:
            return None
        host, port = parse_host_port(value)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @field_validator("expect_status", mode="before")
    @classmethod
    def _status(cls, value: object) -> str:
        return parse_expect_status(value).text

    @field_validator("body_match", mode="after")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


KINDS: tuple[type[Spec], ...] = (UnitSpec, DeviceSpec, LinkSpec, ServiceSpec)


@dataclass(frozen=True, kw_only=True)
class Origin:
    """Where a record came from: a file and line (per field where known), a sheet row, or the database.

    A record read from an XLSX sheet has `sheet` set and `columns` (field -> column letter): its
    issues are placed as ``file:sheet!C5``.
    """

    source: str
    line: int | None = None
    fields: Mapping[str, int] = field(default_factory=dict)
    sheet: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)

    def at(self, name: str) -> int | None:
        """Return the line of field *name*, else the record's line."""
        return self.fields.get(name, self.line)

    def place(self, name: str) -> tuple[str, int | None]:
        """Return (source, line) for an issue about field *name*: ``file:sheet!C5`` and None for a sheet."""
        if self.sheet is None:
            return self.source, self.at(name)
        column = self.columns.get(name, "A")
        return f"{self.source}:{self.sheet}!{column}{self.line}", None

    def describe(self, name: str) -> str:
        """Return the place of field *name* as text (``file:line`` or ``file:sheet!C5``)."""
        source, line = self.place(name)
        return f"{source}:{line}" if line is not None else source


def unit_on(spec: DeviceSpec | LinkSpec, day: date) -> str:
    """Return the unit a device or link belonged to on local *day*: previous_unit before moved_on."""
    if spec.moved_on is not None and spec.previous_unit is not None and day < spec.moved_on:
        return spec.previous_unit
    return spec.unit


@dataclass(frozen=True)
class Record:
    """A spec with its origin."""

    spec: Spec
    origin: Origin


@dataclass(frozen=True)
class Inventory:
    """A whole inventory by natural key, in a stable order."""

    units: Mapping[str, UnitSpec]
    devices: Mapping[str, DeviceSpec]
    links: Mapping[str, LinkSpec]
    services: Mapping[str, ServiceSpec] = field(default_factory=dict)

    def of(self, kind: type[Spec]) -> Mapping[str, Spec]:
        """Return the records of one kind."""
        by_kind: dict[type[Spec], Mapping[str, Spec]] = {
            UnitSpec: self.units,
            DeviceSpec: self.devices,
            LinkSpec: self.links,
            ServiceSpec: self.services,
        }
        return by_kind[kind]

    def __len__(self) -> int:
        return len(self.units) + len(self.devices) + len(self.links) + len(self.services)
