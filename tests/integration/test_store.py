"""The inventory store on SQLite and PostgreSQL: import, idempotence, atomicity, prune, round trips."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from netmon.errors import InventoryError, NotFoundError, StoreError
from netmon.inventory import schema
from netmon.inventory.files import read_files, write_csv, write_yaml
from netmon.inventory.models import Level, Role, metadata
from netmon.inventory.plan import Plan
from netmon.inventory.store import Store
from tests.conftest import EXAMPLE_INVENTORY

PROFILES = {"lab-v2c", "lab-v3"}


def _import(store: Store, *paths: Path, prune: bool = False, dry_run: bool = False, allow_empty: bool = False) -> Plan:
    parsed = read_files(paths)
    return store.import_parsed(parsed, profiles=PROFILES, prune=prune, dry_run=dry_run, allow_empty=allow_empty)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _dump(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every inventory table, ids included: what 'exactly as before' means."""
    with store.engine.connect() as conn:
        return {
            name: [dict(row) for row in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
            for name, table in metadata.tables.items()
        }


def test_migrations_match_the_models(db_url: str) -> None:
    engine = schema.create_engine(db_url)
    try:
        assert schema.upgrade(engine) == (None, schema.HEAD)
        assert schema.upgrade(engine) == (schema.HEAD, schema.HEAD)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_head_constant_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(schema.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == schema.HEAD


def test_unmigrated_database_is_refused(db_url: str) -> None:
    with pytest.raises(
        StoreError, match=rf"has no netmon schema, this netmon needs {schema.HEAD}: run `netmon db upgrade`"
    ):
        Store.open(db_url)


def test_import_then_reimport_changes_nothing(store: Store) -> None:
    first = _import(store, EXAMPLE_INVENTORY)
    assert first.count("create") == len(first.desired) == first.rows
    before = _dump(store)
    second = _import(store, EXAMPLE_INVENTORY)
    assert second.changes == ()
    assert _dump(store) == before
    assert store.snapshot() == first.desired


def test_a_snapshot_shares_one_fields_set_among_records_of_a_kind(store: Store) -> None:
    """pydantic's per-record sets of given fields were half the 10k inventory's 28 MB (issue 12)."""
    _import(store, EXAMPLE_INVENTORY)
    snapshot = store.snapshot()
    for records in (snapshot.units, snapshot.devices, snapshot.links):
        assert len(records) > 1
        assert len({id(record.__pydantic_fields_set__) for record in records.values()}) == 1
    device = next(iter(snapshot.devices.values()))
    assert device.model_dump(exclude_unset=True) == device.model_dump()  # every field was given
    assert (
        device.model_copy(update={"address": "127.0.0.9"}).__pydantic_fields_set__ is not device.__pydantic_fields_set__
    )


def test_failing_import_leaves_the_database_exactly_as_before(store: Store, tmp_path: Path) -> None:
    _import(store, EXAMPLE_INVENTORY)
    before = _dump(store)
    text = EXAMPLE_INVENTORY.read_text(encoding="utf-8")
    # Many valid changes, one new unit, and one bad reference at the very end of the file.
    broken = text.replace("capacity_mbps: 100", "capacity_mbps: 150").replace("provider: VNPT", "provider: Viettel")
    broken += "  - name: late-error\n    check: tcp\n    address: 127.20.1.11:110\n    unit: SL-NOWHERE\n"
    path = _write(tmp_path, "broken.yaml", broken)
    with pytest.raises(InventoryError) as caught:
        _import(store, path)
    assert [i.message for i in caught.value.issues] == ["unknown unit 'SL-NOWHERE'"]
    assert _dump(store) == before


def test_dry_run_writes_nothing(store: Store) -> None:
    plan = _import(store, EXAMPLE_INVENTORY, dry_run=True)
    assert plan.count("create") == plan.rows
    assert len(store.snapshot()) == 0


def test_yaml_round_trip_through_the_database(store: Store, tmp_path: Path, db_url: str) -> None:
    _import(store, EXAMPLE_INVENTORY)
    exported = tmp_path / "export.yaml"
    write_yaml(store.snapshot(), exported)
    assert _import(store, exported).changes == ()
    fresh_url = db_url.replace("netmon.db", "fresh.db") if db_url.startswith("sqlite") else None
    if fresh_url:
        engine = schema.create_engine(fresh_url)
        schema.upgrade(engine)
        engine.dispose()
        fresh = Store.open(fresh_url)
        _import(fresh, exported)
        assert fresh.snapshot() == store.snapshot()
        again = tmp_path / "again.yaml"
        write_yaml(fresh.snapshot(), again)
        assert again.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")
        fresh.close()


def test_csv_round_trip_through_the_database(store: Store, tmp_path: Path) -> None:
    _import(store, EXAMPLE_INVENTORY)
    before = store.snapshot()
    write_csv(before, tmp_path / "csv")
    assert _import(store, tmp_path / "csv", prune=True).changes == ()
    assert store.snapshot() == before


UNITS = """\
units:
  - {code: P, name: Tỉnh Thử, level: province}
  - {code: D1, name: Huyện Một, level: district, parent: P}
  - {code: D2, name: Huyện Hai, level: district, parent: P}
"""
DEVICES = """\
devices:
  - {name: p-r1, unit: P, role: router, address: 127.31.0.1}
  - {name: d1-r1, unit: D1, role: router, address: 127.31.1.1, parent: p-r1}
  - {name: d1-sw1, unit: D1, role: switch, address: 127.31.1.2, parent: d1-r1}
  - {name: d2-r1, unit: D2, role: router, address: 127.31.2.1, parent: p-r1}
links:
  - {name: d1-lan, kind: lan, unit: D1, device: d1-sw1, interface: eth0}
"""


def test_updates_swap_addresses_and_move_devices(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "a.yaml", UNITS + DEVICES))
    swapped = (
        DEVICES.replace("127.31.1.1", "TMP")
        .replace("127.31.1.2", "127.31.1.1")
        .replace("TMP", "127.31.1.2")
        .replace("{name: d1-sw1, unit: D1", "{name: d1-sw1, unit: D2")
        .replace("parent: d1-r1}", "parent: d2-r1}")
    )
    plan = _import(store, _write(tmp_path, "b.yaml", UNITS + swapped))
    assert [str(c) for c in plan.changes] == [
        "~ device d1-r1: address 127.31.1.1 → 127.31.1.2",
        "~ device d1-sw1: unit D1 → D2; address 127.31.1.2 → 127.31.1.1; parent d1-r1 → d2-r1",
    ]
    devices = store.snapshot().devices
    assert (devices["d1-r1"].address, devices["d1-sw1"].address) == ("127.31.1.2", "127.31.1.1")
    assert (devices["d1-sw1"].unit, devices["d1-sw1"].parent) == ("D2", "d2-r1")


def test_files_may_refer_to_stored_records(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "units.yaml", UNITS))
    plan = _import(store, _write(tmp_path, "devices.yaml", DEVICES))
    assert plan.summary() == "5 to create, 0 to update, 0 to delete, 3 unchanged"


def test_prune_deletes_only_the_lists_the_files_give(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "all.yaml", UNITS + DEVICES))
    fewer = DEVICES.replace("  - {name: d2-r1, unit: D2, role: router, address: 127.31.2.1, parent: p-r1}\n", "")
    path = _write(tmp_path, "fewer.yaml", fewer)
    assert _import(store, path).changes == ()  # without --prune nothing goes
    plan = _import(store, path, prune=True)
    assert [str(c) for c in plan.changes] == ["- device d2-r1"]
    snapshot = store.snapshot()
    assert "d2-r1" not in snapshot.devices
    assert set(snapshot.units) == {"P", "D1", "D2"}  # units were not in the file: kept
    # The freed address can be reused at once.
    reuse = fewer.replace(
        "  - {name: p-r1,", "  - {name: d2-r2, unit: D2, role: router, address: 127.31.2.1}\n  - {name: p-r1,"
    )
    assert _import(store, _write(tmp_path, "reuse.yaml", reuse)).summary().startswith("1 to create")


def test_prune_of_a_parent_chain_and_its_units(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "all.yaml", UNITS + DEVICES))
    only_province = (
        "units:\n  - {code: P, name: Tỉnh Thử, level: province}\n"
        "devices:\n  - {name: p-r1, unit: P, role: router, address: 127.31.0.1}\n"
        "links: []\n"
    )
    plan = _import(store, _write(tmp_path, "p.yaml", only_province), prune=True, allow_empty=True)  # links: [] too
    assert plan.summary() == "0 to create, 0 to update, 6 to delete, 2 unchanged"
    assert list(store.snapshot().devices) == ["p-r1"]


def test_prune_refuses_to_empty_a_list_unless_asked(store: Store, tmp_path: Path) -> None:
    """A list given without a record (an exported empty list, a CSV saved before its rows) deleted every stored one."""
    _import(store, _write(tmp_path, "all.yaml", UNITS + DEVICES))
    before = _dump(store)
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "links.csv").write_text("name,kind,unit,device,interface\n", encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        _import(store, folder, prune=True)
    message = "--prune would delete every stored link (1): the files give no links; add --allow-empty if that is"
    message += " what you want"
    assert [str(issue) for issue in caught.value.issues] == [f"{folder / 'links.csv'}:1: links: {message}"]
    assert _dump(store) == before
    assert _import(store, folder).changes == ()  # without --prune an empty list deletes nothing
    assert [str(c) for c in _import(store, folder, prune=True, allow_empty=True).changes] == ["- link d1-lan"]


def test_prune_cannot_orphan_a_stored_record(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "all.yaml", UNITS + DEVICES))
    before = _dump(store)
    units_only = UNITS.replace("  - {code: D2, name: Huyện Hai, level: district, parent: P}\n", "")
    with pytest.raises(InventoryError) as caught:
        _import(store, _write(tmp_path, "units.yaml", units_only), prune=True)
    assert [str(i) for i in caught.value.issues] == [
        (
            "database: device 'd2-r1': unit: unit 'D2' is not in the files, so --prune would delete it, "
            "but this record refers to it"
        )
    ]
    assert _dump(store) == before


def test_device_listing_filters(store: Store) -> None:
    _import(store, EXAMPLE_INVENTORY)
    snapshot = store.snapshot()
    province = next(u for u in snapshot.units.values() if u.level is Level.PROVINCE)
    rows = store.devices(unit=province.code)  # the province and every unit below it
    assert {r.device.unit for r in rows} == {d.unit for d in snapshot.devices.values()}
    commune = store.devices(unit="SL-LG")  # two-tier: a commune directly under the province
    assert commune
    assert {(r.device.unit, r.level) for r in commune} == {("SL-LG", Level.COMMUNE)}
    routers = store.devices(role=Role.ROUTER, level=Level.COMMUNE)
    assert routers
    assert all(r.device.role is Role.ROUTER and r.level is Level.COMMUNE for r in routers)
    with pytest.raises(NotFoundError, match="no unit with code 'NOPE'"):
        store.devices(unit="NOPE")


GROUPS = """\
units:
  - {code: P, name: Tỉnh Thử, level: province}
  - {code: T, name: Mạng TSLCD, level: department, parent: P, poller_group: remote}
  - {code: X1, name: Xã Một, level: commune, type: xã, parent: P, poller_group: remote}
  - {code: X2, name: Xã Hai, level: commune, type: xã, parent: P}
devices:
  - {name: t-r1, unit: T, role: router, address: 127.31.5.1}
  - {name: x1-r1, unit: X1, role: router, address: 127.31.5.2, parent: t-r1, poller_group: central}
links:
  - {name: x1-wan, kind: wan, unit: X1, device: x1-r1, interface: eth0, poller_group: central}
services:
  - {name: web, unit: P, check: tcp, address: "127.31.5.3:80", poller_group: central}
"""


def test_poller_groups_round_trip_through_yaml_csv_and_the_database(store: Store, tmp_path: Path) -> None:
    _import(store, _write(tmp_path, "groups.yaml", GROUPS))
    stored = store.snapshot()
    assert stored.units["T"].poller_group == "remote"
    assert stored.units["X2"].poller_group is None  # inherits from P: decided when polling, not stored
    assert (stored.devices["x1-r1"].poller_group, stored.links["x1-wan"].poller_group) == ("central", "central")
    assert stored.services["web"].poller_group == "central"
    write_csv(stored, tmp_path / "csv")
    assert "poller_group" in (tmp_path / "csv" / "units.csv").read_text(encoding="utf-8").splitlines()[0]
    assert _import(store, tmp_path / "csv").changes == ()
    bad = _write(tmp_path, "bad.yaml", "units:\n  - {code: Q, name: Q, level: province, poller_group: 'a b'}\n")
    with pytest.raises(InventoryError, match="poller_group"):
        _import(store, bad)
