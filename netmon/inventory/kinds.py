"""The inventory's enumerations (levels, commune types, roles, link kinds), apart from the tables.

They live here, free of SQLAlchemy, so that the CLI can offer them as choices in ``--help``
without importing the database layer; ``netmon.inventory.models`` re-exports them.
"""

from __future__ import annotations

import enum

__all__ = ["LEGACY_WARD", "CommuneType", "Level", "LinkKind", "Role", "ServiceCheck"]


class Level(enum.StrEnum):
    """Administrative level of a unit.

    `district` is historic (no district level since 2025-07-01: two-tier local government). `commune` is the
    commune level of both structures; the older word `ward` is read as `commune`.
    """

    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"

    @classmethod
    def _missing_(cls, value: object) -> Level | None:
        """Read the pre-2025 level name `ward` (any case, padded) as `commune`; trim other names."""
        if isinstance(value, str):
            text = value.strip().lower()
            if text == LEGACY_WARD:
                return cls.COMMUNE
            for member in cls:
                if member.value == text:
                    return member
        return None


#: The level name netmon used before the two-tier structure; files using it still import.
LEGACY_WARD = "ward"


class CommuneType(enum.StrEnum):
    """The type of a commune-level unit: xã, phường, đặc khu (since 2025-07-01), thị trấn (historic)."""

    XA = "xã"
    PHUONG = "phường"
    DAC_KHU = "đặc khu"
    THI_TRAN = "thị trấn"


class Role(enum.StrEnum):
    """What a device does in the unit's network."""

    ROUTER = "router"
    SWITCH = "switch"
    FIREWALL = "firewall"
    SERVER = "server"
    VC_ENDPOINT = "vc_endpoint"
    WORKSTATION = "workstation"
    ACCESS_POINT = "access_point"
    UPS = "ups"
    OTHER = "other"


class LinkKind(enum.StrEnum):
    """How a unit is connected: LAN, Internet, city WAN/MAN or the specialised network TSLCD."""

    LAN = "lan"
    INTERNET = "internet"
    WAN = "wan"
    MAN = "man"
    TSLCD = "tslcd"


class ServiceCheck(enum.StrEnum):
    """How a service is checked: an HTTP(S) request or a TCP connect (issue 11, item 5)."""

    HTTP = "http"
    TCP = "tcp"
