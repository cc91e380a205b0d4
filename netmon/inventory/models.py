"""Inventory tables: units (province → department/district (historic) → commune), devices, links and services.

Vietnam's local government has two tiers since 2025-07-01 (province → commune: xã, phường, đặc khu)
and had three before (province → district → commune, with thị trấn). A unit carries the dates it
was in force and the unit it merged into (`successor`), so that a period is reported in the
structure in force then (docs/inventory.md, "Two structures").
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from netmon.inventory.kinds import LEGACY_WARD, CommuneType, Level, LinkKind, Role, ServiceCheck

__all__ = [
    "LEGACY_WARD",
    "ApiToken",
    "AuditEntry",
    "AvailabilityDay",
    "CommuneType",
    "Device",
    "Level",
    "Link",
    "LinkKind",
    "MaintenanceWindow",
    "Outage",
    "OutboxEvent",
    "PollerMember",
    "Role",
    "Service",
    "ServiceCheck",
    "StateChange",
    "Unit",
    "metadata",
]

#: Constraint names are fixed so that migrations can address them on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata


def _enum(kind: type[enum.StrEnum], name: str) -> sa.Enum:
    """Store an enum as VARCHAR with a CHECK constraint, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Unit(SQLModel, table=True):
    """An organisational unit with its staff and declared asset counts."""

    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=255)
    level: Level = Field(sa_type=_enum(Level, "unit_level"))
    parent_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    staff: int | None = Field(default=None, ge=0)
    computers: int | None = Field(default=None, ge=0)
    servers: int | None = Field(default=None, ge=0)
    vc_endpoints: int | None = Field(default=None, ge=0)
    type: CommuneType | None = Field(default=None, sa_type=_enum(CommuneType, "commune_type"))
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = Field(default=None, max_length=64)  # a unit code; the plan checks it
    poller_group: str | None = Field(default=None, max_length=64)  # None: the parent's, else "default"


class Device(SQLModel, table=True):
    """A monitored device; `snmp` names a credential profile, never a secret."""

    __tablename__ = "devices"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    role: Role = Field(sa_type=_enum(Role, "device_role"))
    address: str = Field(max_length=64, unique=True)
    snmp: str | None = Field(default=None, max_length=64)
    parent_id: int | None = Field(default=None, foreign_key="devices.id", index=True)
    tags: str = Field(default="", max_length=1024)
    enabled: bool = True
    previous_unit: str | None = Field(default=None, max_length=64)  # the unit before moved_on
    moved_on: date | None = None
    poller_group: str | None = Field(default=None, max_length=64)  # None: the unit's


class Link(SQLModel, table=True):
    """A unit's connection of one kind, optionally terminated on a device interface."""

    __tablename__ = "links"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    kind: LinkKind = Field(sa_type=_enum(LinkKind, "link_kind"))
    unit_id: int = Field(foreign_key="units.id", index=True)
    device_id: int | None = Field(default=None, foreign_key="devices.id", index=True)
    interface: str | None = Field(default=None, max_length=255)
    capacity_mbps: int | None = Field(default=None, ge=0)
    provider: str | None = Field(default=None, max_length=128)
    previous_unit: str | None = Field(default=None, max_length=64)  # the unit before moved_on
    moved_on: date | None = None
    poller_group: str | None = Field(default=None, max_length=64)  # None: the unit's


class Service(SQLModel, table=True):
    """A service checked over the network: `url` for http, `address` (HOST:PORT) for tcp."""

    __tablename__ = "services"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    device_id: int | None = Field(default=None, foreign_key="devices.id", index=True)
    check: ServiceCheck = Field(sa_type=_enum(ServiceCheck, "service_check"))
    url: str | None = Field(default=None, max_length=1024)
    address: str | None = Field(default=None, max_length=300)
    expect_status: str = Field(default="200", max_length=255)
    body_match: str | None = Field(default=None, max_length=255)
    timeout: float | None = Field(default=None, gt=0)
    tls_verify: bool = True
    enabled: bool = True
    poller_group: str | None = Field(default=None, max_length=64)  # None: the unit's


class Outage(SQLModel, table=True):
    """A period an object was down, unreachable (with its root cause) or in maintenance.

    At most one outage per object is open (ended_at NULL): a partial unique index enforces
    it, so a daemon restarted mid-outage continues the open one instead of opening another.
    """

    __tablename__ = "outages"
    __table_args__ = (
        sa.Index(
            "uq_outages_open",
            "object_kind",
            "object_name",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    object_kind: str = Field(max_length=16)
    object_name: str = Field(max_length=255)
    cause: str = Field(max_length=16)
    root_cause: str | None = Field(default=None, max_length=255)
    started_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    ended_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    end_cause: str | None = Field(default=None, max_length=16)  # up, unknown, removed, or the next cause


class StateChange(SQLModel, table=True):
    """One state transition of a device, link or interface: the history availability is computed from."""

    __tablename__ = "state_changes"
    __table_args__ = (sa.Index("ix_state_changes_object", "object_kind", "object_name", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    object_kind: str = Field(max_length=16)
    object_name: str = Field(max_length=255)
    state: str = Field(max_length=16)
    root_cause: str | None = Field(default=None, max_length=255)
    flapping: bool = False
    ts: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class AvailabilityDay(SQLModel, table=True):
    """Seconds one object (device, link, or unit as the sum of its own) spent in each state on one local day."""

    __tablename__ = "availability_daily"
    __table_args__ = (sa.UniqueConstraint("day", "object_kind", "object_name", name="uq_availability_daily_object"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    object_kind: str = Field(max_length=16)
    object_name: str = Field(max_length=255)
    unit_code: str = Field(max_length=64, index=True)
    up_seconds: float = 0.0
    down_seconds: float = 0.0
    unreachable_seconds: float = 0.0
    maintenance_seconds: float = 0.0
    unknown_seconds: float = 0.0


class MaintenanceWindow(SQLModel, table=True):
    """A one-off maintenance window made through the API (config windows live in the config file)."""

    __tablename__ = "maintenance_windows"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    objects: str = Field(max_length=4096)  # "device:NAME", "link:NAME", "unit:CODE", comma-separated
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    reason: str = Field(default="", max_length=1024)
    author: str = Field(default="", max_length=128)  # the token name that made it (issue 14)


class ApiToken(SQLModel, table=True):
    """An API token: only the SHA-256 of the token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    scope: str = Field(max_length=8)  # read | write
    token_hash: str = Field(max_length=64, unique=True)  # hex SHA-256
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class AuditEntry(SQLModel, table=True):
    """One write: who (token name or local user), what (action and target), when, and from where."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    target: str = Field(max_length=512)
    source: str = Field(max_length=128)
    detail: str = Field(default="", sa_type=sa.Text)


class OutboxEvent(SQLModel, table=True):
    """An MQTT message waiting for its PUBACK; the id is the delivery order.

    Written in the same transaction as the transitions it tells of, deleted once the broker
    has acknowledged it: a message is never lost, and may be sent twice after a crash.
    """

    __tablename__ = "mqtt_outbox"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=32, unique=True)
    topic: str = Field(max_length=1024)
    payload: str = Field(sa_type=sa.Text)
    retain: bool = False
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PoisonItem(SQLModel, table=True):
    """An item the transition pipeline could not store (a permanent data error), kept for inspection.

    The rest of its batch and every later batch were stored; `error` says why this one was not.
    `payload` is the item as JSON (NUL bytes escaped), `object_name` made to fit its column.
    """

    __tablename__ = "poison"

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    what: str = Field(max_length=32)  # e.g. "transition"
    object_kind: str = Field(max_length=16)
    object_name: str = Field(max_length=255)
    error: str = Field(max_length=1024)
    payload: str = Field(sa_type=sa.Text)


class PollerMember(SQLModel, table=True):
    """One poller of several sharing a PostgreSQL database (issue 19, `netmon.cluster`).

    The row is kept when the poller stops (its lease set to the past), so `epoch` (the fencing
    token) only grows: each join takes one more than every epoch ever given. A poller may write
    state while its row has its epoch and `lease_until` is in the future (database clock).
    """

    __tablename__ = "poller_members"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    groups: str = Field(max_length=1024)  # space-separated group names
    epoch: int = Field(sa_type=sa.BigInteger)
    lease_until: datetime = Field(sa_type=sa.DateTime(timezone=True))
    heartbeat_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    joined_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
