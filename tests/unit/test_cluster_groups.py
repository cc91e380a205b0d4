"""Poller groups and rendezvous ownership (netmon.cluster.groups): pure, no database."""

from __future__ import annotations

from collections import Counter

import pytest

from netmon.cluster.groups import Member, group_of_unit, owned_inventory, owner, shard_of, shards
from netmon.inventory.models import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec


def _inventory(communes: int = 60) -> Inventory:
    units = {"P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE)}
    units["TSLCD"] = UnitSpec(
        code="TSLCD", name="Mạng TSLCD", level=Level.DEPARTMENT, parent="P", poller_group="remote"
    )
    devices, links = {}, {}
    for i in range(communes):
        parent = "TSLCD" if i % 3 == 0 else "P"
        code = f"X{i}"
        units[code] = UnitSpec(code=code, name=f"Xã {i}", level=Level.COMMUNE, parent=parent)
        devices[f"r{i}"] = DeviceSpec(name=f"r{i}", unit=code, role=Role.ROUTER, address=f"127.80.0.{i + 1}")
        devices[f"s{i}"] = DeviceSpec(name=f"s{i}", unit=code, role=Role.SWITCH, address=f"127.81.0.{i + 1}")
        links[f"wan{i}"] = LinkSpec(name=f"wan{i}", kind=LinkKind.WAN, unit=code, device=f"r{i}")
    devices["odd"] = DeviceSpec(name="odd", unit="X1", role=Role.SERVER, address="127.82.0.1", poller_group="remote")
    return Inventory(units=units, devices=devices, links=links)


def _members(*names: str, groups: tuple[str, ...] = ("default",)) -> list[Member]:
    return [Member(name=name, groups=frozenset(groups), epoch=i + 1) for i, name in enumerate(names)]


def test_a_group_comes_from_the_object_then_its_unit_then_its_ancestors_then_default() -> None:
    inv = _inventory()
    assert group_of_unit(inv.units, "X0") == "remote"  # from TSLCD, its parent
    assert group_of_unit(inv.units, "X1") == "default"
    assert group_of_unit(inv.units, "nowhere") == "default"
    assert shard_of(inv, inv.devices["odd"]) == ("remote", "X1")  # its own group beats its unit's
    assert shard_of(inv, inv.links["wan3"]) == shard_of(inv, inv.devices["r3"]) == ("remote", "X3")


def test_every_object_has_exactly_one_owner_among_the_live_members_of_its_group() -> None:
    inv = _inventory()
    members = [*_members("c1", "c2", groups=("default",)), Member(name="r1", groups=frozenset({"remote"}), epoch=9)]
    parts = [owned_inventory(inv, m.name, members) for m in members]
    for kind in ("devices", "links"):
        seen = Counter(name for part in parts for name in getattr(part, kind))
        assert seen == Counter(list(getattr(inv, kind)))  # each once, none lost
    remote = parts[2]
    assert {shard_of(inv, d)[0] for d in remote.devices.values()} == {"remote"}
    assert len(parts[0].devices) > 10
    assert len(parts[1].devices) > 10
    for part in parts:  # a unit's objects stay together (dependencies in one state engine)
        for d in part.devices.values():
            same_unit = [o for o in inv.devices.values() if o.unit == d.unit and shard_of(inv, o) == shard_of(inv, d)]
            assert all(o.name in part.devices for o in same_unit)


def test_a_member_leaving_moves_only_its_own_shards() -> None:
    inv = _inventory()
    before = {key: owner(shard, _members("a", "b", "c")) for key, shard in shards(inv).items()}
    after = {key: owner(shard, _members("a", "c")) for key, shard in shards(inv).items()}
    moved = {key for key in before if before[key] != after[key]}
    assert moved == {key for key, name in before.items() if name == "b"}
    assert moved  # b owned something


@pytest.mark.parametrize("members", [[], _members("x", groups=("central",))], ids=["nobody", "other-group"])
def test_a_group_without_live_pollers_has_no_owner(members: list[Member]) -> None:
    assert owner(("default", "X1"), members) is None
