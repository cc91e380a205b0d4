"""Every inventory read and write goes through here: no SQL elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from netmon.errors import StoreError
from netmon.inventory import schema
from netmon.inventory.files import Parsed
from netmon.inventory.models import (
    CommuneType,
    Device,
    Level,
    Link,
    LinkKind,
    Role,
    Service,
    ServiceCheck,
    Unit,
    metadata,
)
from netmon.inventory.plan import Plan, make_plan
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, ServiceSpec, Spec, UnitSpec
from netmon.inventory.views import units_below

__all__ = ["DeviceRow", "Store"]

_UNITS = metadata.tables[Unit.__tablename__]
_DEVICES = metadata.tables[Device.__tablename__]
_LINKS = metadata.tables[Link.__tablename__]
_SERVICES = metadata.tables[Service.__tablename__]

#: Rows per executemany batch; also the progress step.
_BATCH = 1000

Progress = Callable[[int], None]


@dataclass(frozen=True, kw_only=True)
class DeviceRow:
    """A device with its unit's code, name and level, for listings."""

    device: DeviceSpec
    unit_name: str
    level: Level

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            **self.device.to_row(),
            "enabled": self.device.enabled,
            "unit_name": self.unit_name,
            "level": str(self.level),
        }


class Store:
    """The inventory database: snapshot, import plans, listings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Open the database at *url* and check that it is migrated to this netmon's schema."""
        store = cls(schema.create_engine(url))
        current = schema.current_revision(store.engine)
        head = schema.HEAD
        if current != head:
            store.close()
            found = "no netmon schema" if current is None else f"schema {current}"
            raise StoreError(f"the database has {found}, this netmon needs {head}: run `netmon db upgrade`")
        return store

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @contextmanager
    def _begin(self, *, lock: bool = False) -> Iterator[Connection]:
        with schema.transaction(self.engine, "database error") as conn:
            if lock:
                _lock_for_write(conn)
            yield conn

    # ---- reads -----------------------------------------------------------------------------

    def snapshot(self) -> Inventory:
        """Return the whole inventory as specs, in insertion order."""
        with self._begin() as conn:
            return _snapshot(conn)

    def devices(
        self,
        *,
        unit: str | None = None,
        level: Level | None = None,
        role: Role | None = None,
    ) -> list[DeviceRow]:
        """List devices, optionally of one unit and the units below it, one level, one role."""
        with self._begin() as conn:
            inventory = _snapshot(conn)
        scope = units_below(inventory, unit) if unit is not None else None
        rows: list[DeviceRow] = []
        for device in inventory.devices.values():
            owner = inventory.units[device.unit]
            if scope is not None and device.unit not in scope:
                continue
            if (level is not None and owner.level != level) or (role is not None and device.role != role):
                continue
            rows.append(DeviceRow(device=device, unit_name=owner.name, level=owner.level))
        return rows

    # ---- writes ----------------------------------------------------------------------------

    def import_parsed(
        self,
        parsed: Parsed,
        *,
        profiles: Collection[str],
        prune: bool = False,
        allow_empty: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> Plan:
        """Validate and apply an import in one transaction; all or nothing. Raises InventoryError.

        *allow_empty*: let --prune empty a list the files give without a record (`make_plan`).
        """
        with self._begin(lock=not dry_run) as conn:
            plan = make_plan(_snapshot(conn), parsed, profiles=profiles, prune=prune, allow_empty=allow_empty)
            if not dry_run and plan.changes:
                _apply(conn, plan, progress or (lambda _n: None))
        return plan


def _lock_for_write(conn: Connection) -> None:
    """Serialise concurrent imports: a table lock on PostgreSQL, a write lock on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE units, devices, links, services IN SHARE ROW EXCLUSIVE MODE"))
    elif conn.dialect.name == "sqlite":
        conn.execute(sa.text("UPDATE units SET id = id WHERE 0"))


_FIELDS_SET: dict[tuple[type[Spec], frozenset[str]], set[str]] = {}


def _construct(spec: type[_S], /, **values: Any) -> _S:
    """Return `spec.model_construct(**values)` whose fields-set is one set shared by every record given the same fields.

    pydantic keeps a set of the fields given per instance (`__pydantic_fields_set__`): 20,000 sets at
    10k devices, all alike (the inventory fell from 28 to 13 MB). The records are frozen: never added to.
    """
    names = frozenset(values)
    shared = _FIELDS_SET.setdefault((spec, names), set(names))
    return spec.model_construct(_fields_set=shared, **values)


def _snapshot(conn: Connection) -> Inventory:
    unit_code: dict[int, str] = {}
    units: dict[str, UnitSpec] = {}
    raw_units = conn.execute(sa.select(_UNITS).order_by(_UNITS.c.id)).mappings().all()
    for row in raw_units:
        unit_code[row["id"]] = row["code"]
    for row in raw_units:
        units[row["code"]] = _construct(
            UnitSpec,
            code=row["code"],
            name=row["name"],
            level=Level(row["level"]),
            parent=unit_code.get(row["parent_id"]) if row["parent_id"] is not None else None,
            staff=row["staff"],
            computers=row["computers"],
            servers=row["servers"],
            vc_endpoints=row["vc_endpoints"],
            type=CommuneType(row["type"]) if row["type"] is not None else None,
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            successor=row["successor"],
            poller_group=row["poller_group"],
        )
    raw_devices = conn.execute(sa.select(_DEVICES).order_by(_DEVICES.c.id)).mappings().all()
    device_name = {row["id"]: row["name"] for row in raw_devices}
    devices = {
        row["name"]: _construct(
            DeviceSpec,
            name=row["name"],
            unit=unit_code[row["unit_id"]],
            role=Role(row["role"]),
            address=row["address"],
            snmp=row["snmp"],
            parent=device_name.get(row["parent_id"]) if row["parent_id"] is not None else None,
            tags=tuple(row["tags"].split()),
            enabled=bool(row["enabled"]),
            previous_unit=row["previous_unit"],
            moved_on=row["moved_on"],
            poller_group=row["poller_group"],
        )
        for row in raw_devices
    }
    links = {
        row["name"]: _construct(
            LinkSpec,
            name=row["name"],
            kind=LinkKind(row["kind"]),
            unit=unit_code[row["unit_id"]],
            device=device_name.get(row["device_id"]) if row["device_id"] is not None else None,
            interface=row["interface"],
            capacity_mbps=row["capacity_mbps"],
            provider=row["provider"],
            previous_unit=row["previous_unit"],
            moved_on=row["moved_on"],
            poller_group=row["poller_group"],
        )
        for row in conn.execute(sa.select(_LINKS).order_by(_LINKS.c.id)).mappings()
    }
    services = {
        row["name"]: _construct(
            ServiceSpec,
            name=row["name"],
            unit=unit_code[row["unit_id"]],
            check=ServiceCheck(row["check"]),
            device=device_name.get(row["device_id"]) if row["device_id"] is not None else None,
            url=row["url"],
            address=row["address"],
            expect_status=row["expect_status"],
            body_match=row["body_match"],
            timeout=row["timeout"],
            tls_verify=bool(row["tls_verify"]),
            enabled=bool(row["enabled"]),
            poller_group=row["poller_group"],
        )
        for row in conn.execute(sa.select(_SERVICES).order_by(_SERVICES.c.id)).mappings()
    }
    return Inventory(units=units, devices=devices, links=links, services=services)


def _ids(conn: Connection, table: sa.Table, key: str) -> dict[str, int]:
    return {row[0]: row[1] for row in conn.execute(sa.select(table.c[key], table.c.id))}


def _batched(conn: Connection, statement: Any, rows: Sequence[dict[str, Any]], progress: Progress) -> None:
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        conn.execute(statement, list(chunk))
        progress(len(chunk))


def _apply(conn: Connection, plan: Plan, progress: Progress) -> None:
    """Write the plan; the order keeps every foreign key and unique constraint valid throughout."""
    current, desired = plan.current, plan.desired
    units = _ids(conn, _UNITS, "code")
    devices = _ids(conn, _DEVICES, "name")
    links = _ids(conn, _LINKS, "name")
    services = _ids(conn, _SERVICES, "name")
    _delete(conn, _SERVICES, [services[k] for k in current.services if k not in desired.services])
    gone_devices = [devices[k] for k in current.devices if k not in desired.devices]
    _delete(conn, _LINKS, [links[k] for k in current.links if k not in desired.links])
    # Free the addresses that move or go away, so that no unique check trips mid-import.
    moving = [
        devices[k]
        for k, s in desired.devices.items()
        if k in current.devices and current.devices[k].address != s.address
    ]
    _free_addresses(conn, moving + gone_devices)

    for unit_batch in _parents_first(desired.units, units):
        _batched(conn, sa.insert(_UNITS), [_unit_row(s, units) for s in unit_batch], progress)
        units = _ids(conn, _UNITS, "code")
    _batched(
        conn,
        _update(_UNITS),
        [{"_id": units[s.code], **_unit_row(s, units)} for s in _updated(current.units, desired.units)],
        progress,
    )

    for device_batch in _parents_first(desired.devices, devices):
        _batched(conn, sa.insert(_DEVICES), [_device_row(s, units, devices) for s in device_batch], progress)
        devices = _ids(conn, _DEVICES, "name")
    updated_devices = _updated(current.devices, desired.devices)
    _batched(
        conn,
        _update(_DEVICES),
        [{"_id": devices[s.name], **_device_row(s, units, devices)} for s in updated_devices],
        progress,
    )

    new_links = [s for k, s in desired.links.items() if k not in links]
    _batched(conn, sa.insert(_LINKS), [_link_row(s, units, devices) for s in new_links], progress)
    updated_links = _updated(current.links, desired.links)
    _batched(
        conn, _update(_LINKS), [{"_id": links[s.name], **_link_row(s, units, devices)} for s in updated_links], progress
    )

    new_services = [s for k, s in desired.services.items() if k not in services]
    _batched(conn, sa.insert(_SERVICES), [_service_row(s, units, devices) for s in new_services], progress)
    _batched(
        conn,
        _update(_SERVICES),
        [
            {"_id": services[s.name], **_service_row(s, units, devices)}
            for s in _updated(current.services, desired.services)
        ],
        progress,
    )

    _detach_and_delete(conn, _DEVICES, gone_devices)
    _detach_and_delete(conn, _UNITS, [units[k] for k in current.units if k not in desired.units])


_S = TypeVar("_S", UnitSpec, DeviceSpec, LinkSpec, ServiceSpec)
_H = TypeVar("_H", UnitSpec, DeviceSpec)


def _updated(current: Mapping[str, _S], desired: Mapping[str, _S]) -> list[_S]:
    return [spec for key, spec in desired.items() if key in current and current[key] != spec]


def _parents_first(desired: Mapping[str, _H], stored: Mapping[str, int]) -> list[list[_H]]:
    """Group new records by depth so that each batch's parents are already stored."""
    depth: dict[str, int] = {}

    def level(key: str) -> int:
        if key in stored:
            return -1
        if key not in depth:
            parent = desired[key].parent
            depth[key] = 0 if parent is None else level(parent) + 1
        return depth[key]

    batches: list[list[_H]] = []
    for key, spec in desired.items():
        at = level(key)
        if at >= 0:
            batches.extend([] for _ in range(at + 1 - len(batches)))
            batches[at].append(spec)
    return batches


def _update(table: sa.Table) -> Any:
    return sa.update(table).where(table.c.id == sa.bindparam("_id"))


def _delete(conn: Connection, table: sa.Table, ids: list[int]) -> None:
    for start in range(0, len(ids), _BATCH):
        conn.execute(sa.delete(table).where(table.c.id.in_(ids[start : start + _BATCH])))


def _free_addresses(conn: Connection, ids: list[int]) -> None:
    if ids:
        stmt = sa.update(_DEVICES).where(_DEVICES.c.id == sa.bindparam("_id"))
        conn.execute(stmt, [{"_id": i, "address": f"~{i}"} for i in ids])


def _detach_and_delete(conn: Connection, table: sa.Table, ids: list[int]) -> None:
    """Delete rows of a self-referencing table, first cutting parent links among them."""
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        conn.execute(sa.update(table).where(table.c.parent_id.in_(chunk)).values(parent_id=None))
    _delete(conn, table, ids)


def _unit_row(spec: UnitSpec, units: Mapping[str, int]) -> dict[str, Any]:
    return {
        "code": spec.code,
        "name": spec.name,
        "level": spec.level.value,
        "parent_id": units[spec.parent] if spec.parent is not None else None,
        "staff": spec.staff,
        "computers": spec.computers,
        "servers": spec.servers,
        "vc_endpoints": spec.vc_endpoints,
        "type": spec.type.value if spec.type is not None else None,
        "valid_from": spec.valid_from,
        "valid_to": spec.valid_to,
        "successor": spec.successor,
        "poller_group": spec.poller_group,
    }


def _device_row(spec: DeviceSpec, units: Mapping[str, int], devices: Mapping[str, int]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "unit_id": units[spec.unit],
        "role": spec.role.value,
        "address": spec.address,
        "snmp": spec.snmp,
        "parent_id": devices[spec.parent] if spec.parent is not None else None,
        "tags": " ".join(spec.tags),
        "enabled": spec.enabled,
        "previous_unit": spec.previous_unit,
        "moved_on": spec.moved_on,
        "poller_group": spec.poller_group,
    }


def _link_row(spec: LinkSpec, units: Mapping[str, int], devices: Mapping[str, int]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind.value,
        "unit_id": units[spec.unit],
        "device_id": devices[spec.device] if spec.device is not None else None,
        "interface": spec.interface,
        "capacity_mbps": spec.capacity_mbps,
        "provider": spec.provider,
        "previous_unit": spec.previous_unit,
        "moved_on": spec.moved_on,
        "poller_group": spec.poller_group,
    }


def _service_row(spec: ServiceSpec, units: Mapping[str, int], devices: Mapping[str, int]) -> dict[str, Any]:
    return {
        "name": spec.name,
        "unit_id": units[spec.unit],
        "device_id": devices[spec.device] if spec.device is not None else None,
        "check": spec.check.value,
        "url": spec.url,
        "address": spec.address,
        "expect_status": spec.expect_status,
        "body_match": spec.body_match,
        "timeout": spec.timeout,
        "tls_verify": spec.tls_verify,
        "enabled": spec.enabled,
        "poller_group": spec.poller_group,
    }
