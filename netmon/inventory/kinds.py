"""The inventory's enumerations (levels, roles, link kinds), apart from the tables.

They live here, free of SQLAlchemy, so that the CLI can offer them as choices in ``--help``
without importing the database layer; ``netmon.inventory.models`` re-exports them.
"""

from __future__ import annotations

import enum

__all__ = ["Level", "LinkKind", "Role"]


class Level(enum.StrEnum):
    """Administrative level of a unit."""

    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    WARD = "ward"


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
