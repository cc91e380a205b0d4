"""Services in the store on SQLite and PostgreSQL: create, update, move off a device, prune, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.errors import InventoryError
from netmon.inventory.files import read_files
from netmon.inventory.plan import Plan
from netmon.inventory.store import Store
from tests.unit.test_inventory_services import BASE, PROFILES


def _import(store: Store, tmp_path: Path, text: str, *, prune: bool = False) -> Plan:
    path = tmp_path / "inv.yaml"
    path.write_text(text, encoding="utf-8")
    return store.import_parsed(read_files([path]), profiles=PROFILES, prune=prune)


def test_services_are_stored_and_read_back(store: Store, tmp_path: Path) -> None:
    plan = _import(store, tmp_path, BASE)
    assert store.snapshot() == plan.desired
    assert set(store.snapshot().services) == {"portal", "mail"}
    assert _import(store, tmp_path, BASE).changes == ()


def test_service_update_and_move_off_a_device_then_prune(store: Store, tmp_path: Path) -> None:
    _import(store, tmp_path, BASE)
    moved = BASE.replace("    device: p-srv1\n", "").replace(
        "url: https://127.30.0.10/", "url: https://127.30.0.12:8443/"
    )
    # the device goes too: the service no longer refers to it, so prune may delete it
    moved = moved.replace(
        "  - name: p-srv1\n    unit: P\n    role: server\n    address: 127.30.0.10\n",
        "  - name: p-srv2\n    unit: P\n    role: server\n    address: 127.30.0.10\n",
    )
    plan = _import(store, tmp_path, moved, prune=True)
    assert sorted(str(c) for c in plan.changes if c.noun != "unit") == [
        "+ device p-srv2",
        "- device p-srv1",
        "~ service portal: device p-srv1 → —; url https://127.30.0.10/ → https://127.30.0.12:8443/",
    ]
    snapshot = store.snapshot()
    assert snapshot == plan.desired
    assert snapshot.services["portal"].device is None
    only_mail = (
        moved.split("services:")[0] + "services:\n" + moved.split("  - name: mail\n")[1].join(["  - name: mail\n", ""])
    )
    plan = _import(store, tmp_path, only_mail, prune=True)
    assert [str(c) for c in plan.changes] == ["- service portal"]
    assert list(store.snapshot().services) == ["mail"]


def test_a_bad_service_writes_nothing(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InventoryError):
        _import(store, tmp_path, BASE.replace("address: 127.30.0.11:25", "address: 127.30.0.11:99999"))
    assert len(store.snapshot()) == 0
