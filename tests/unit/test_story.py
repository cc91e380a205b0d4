"""The demo's choice of a commune to cut comes from the inventory's data, on any province's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.inventory.files import read_files
from netmon.inventory.kinds import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from netmon.lab.story import Cut, move_behind_site, pick_cut
from tests.conftest import EXAMPLE_INVENTORY


def _example() -> Inventory:
    records = read_files([Path(EXAMPLE_INVENTORY)]).records
    return Inventory(
        units={r.spec.key: r.spec for r in records[UnitSpec] if isinstance(r.spec, UnitSpec)},
        devices={r.spec.key: r.spec for r in records[DeviceSpec] if isinstance(r.spec, DeviceSpec)},
        links={r.spec.key: r.spec for r in records[LinkSpec] if isinstance(r.spec, LinkSpec)},
    )


def _inventory(
    units: list[tuple[str, Level, str | None]],
    devices: list[tuple[str, str, Role, str, str | None]],
    links: list[tuple[str, LinkKind, str, str]],
) -> Inventory:
    return Inventory(
        units={c: UnitSpec(code=c, name=f"Đơn vị {c}", level=lv, parent=p) for c, lv, p in units},
        devices={n: DeviceSpec(name=n, unit=u, role=r, address=a, parent=p, snmp="v2c") for n, u, r, a, p in devices},
        links={n: LinkSpec(name=n, kind=k, unit=u, device=d, interface="eth1") for n, k, u, d in links},
    )


# 2026: communes directly under the province (two tiers), the last commune without devices behind its router
TWO_TIER = _inventory(
    [
        ("T", Level.PROVINCE, None),
        ("T-X2", Level.COMMUNE, "T"),
        ("T-X1", Level.COMMUNE, "T"),
        ("T-X3", Level.COMMUNE, "T"),
    ],
    [
        ("t-core", "T", Role.ROUTER, "127.40.0.1", None),
        ("x1-r1", "T-X1", Role.ROUTER, "127.40.1.1", "t-core"),
        ("x1-sw1", "T-X1", Role.SWITCH, "127.40.1.2", "x1-r1"),
        ("x1-vc1", "T-X1", Role.VC_ENDPOINT, "127.40.1.3", "x1-sw1"),
        ("x2-r1", "T-X2", Role.ROUTER, "127.40.2.1", "t-core"),
        ("x2-sw1", "T-X2", Role.SWITCH, "127.40.2.2", "x2-r1"),
        ("x3-r1", "T-X3", Role.ROUTER, "127.40.3.1", "t-core"),
    ],
    [
        ("x1-inet", LinkKind.INTERNET, "T-X1", "x1-r1"),
        ("x1-wan", LinkKind.WAN, "T-X1", "x1-r1"),
        ("x2-tslcd", LinkKind.TSLCD, "T-X2", "x2-r1"),
        ("x3-tslcd", LinkKind.TSLCD, "T-X3", "x3-r1"),
    ],
)
# a commune whose uplink belongs to another unit is not cut (the link is not the commune's)
FOREIGN_UPLINK = _inventory(
    [("T", Level.PROVINCE, None), ("T-X1", Level.COMMUNE, "T")],
    [
        ("t-core", "T", Role.ROUTER, "127.40.0.1", None),
        ("x1-r1", "T-X1", Role.ROUTER, "127.40.1.1", "t-core"),
        ("x1-sw1", "T-X1", Role.SWITCH, "127.40.1.2", "x1-r1"),
    ],
    [("t-x1-wan", LinkKind.WAN, "T", "x1-r1")],
)


@pytest.mark.parametrize(
    ("inventory", "expected"),
    [
        (
            _example(),
            Cut(  # the 2026 two-tier example: a phường directly under the province, the former district's core
                unit="SL-CL",
                unit_name="Phường Cửa Lam",
                router="sl-h02-core-r1",
                uplink="sl-h02-wan",
                behind=(
                    "sl-h02-core-sw1",
                    "sl-h02-x01-r1",
                    "sl-h02-x02-r1",
                    "sl-h02-srv1",
                    "sl-h02-vc1",
                    "sl-h02-x01-sw1",
                    "sl-h02-x02-sw1",
                    "sl-h02-x01-vc1",
                    "sl-h02-x02-vc1",
                ),
            ),
        ),
        (
            TWO_TIER,
            Cut(unit="T-X1", unit_name="Đơn vị T-X1", router="x1-r1", uplink="x1-wan", behind=("x1-sw1", "x1-vc1")),
        ),
        (FOREIGN_UPLINK, None),
    ],
    ids=["example-two-tier", "two-tier-wan-before-internet", "uplink-of-another-unit"],
)
def test_pick_cut(inventory: Inventory, expected: Cut | None) -> None:
    assert pick_cut(inventory) == expected


def test_move_behind_site_changes_only_the_cut() -> None:
    cut = pick_cut(TWO_TIER)
    assert cut is not None
    moved = move_behind_site(
        TWO_TIER, cut, address="198.18.1.2", hosts=("198.18.1.10", "198.18.1.11"), interface="nms1"
    )
    assert [moved.devices[n].address for n in cut.devices] == ["198.18.1.2", "198.18.1.10", "198.18.1.11"]
    assert [moved.devices[n].snmp for n in cut.devices] == ["v2c", None, None]
    assert moved.links["x1-wan"].interface == "nms1"
    unchanged = set(TWO_TIER.devices) - set(cut.devices)
    assert all(moved.devices[n] == TWO_TIER.devices[n] for n in unchanged)
    with pytest.raises(ValueError, match="1 host addresses for 2 devices"):
        move_behind_site(TWO_TIER, cut, address="198.18.1.2", hosts=("198.18.1.10",), interface="nms1")
