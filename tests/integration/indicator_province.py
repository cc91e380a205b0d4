"""A small fixture province for the indicator tests, with a state history over October 2026.

Units (declared staff / computers / servers / vc_endpoints):
    P   province    10 / 12 / 2 / 1
    D1  department  20 / 15 / 1 / 1      (parent P)
    D2  department   5 /  - / - / -      (parent P)
    H1  district     8 /  8 / 0 / 1      (parent P)
    W1  ward         - /  3 / - / -      (parent H1)

State history (UTC; October 2026 in Asia/Ho_Chi_Minh is 2026-09-30T17:00Z .. 2026-10-31T17:00Z,
31 days). Every object with a history is UP from 2026-09-01, then:
    p-sw1    DOWN 10-05T17 .. UP 10-15T17          (10 days down)
    h1-r1    MAINTENANCE 10-10T00 .. UP 10-11T00   (1 day, left out)
    p-srv1   UNREACHABLE 10-20T00 .. UP 10-22T00   (2 days, left out)
    p-vc1    DOWN 10-05T17 .. UP 10-25T17          (20 days down)
    h1-vc1   DOWN 10-16T17 .. UP 10-31T17          (15 days down), DOWN again 11-05T00
    p-inet   DOWN 10-02T00 .. UP 10-04T00          (2 days down), DOWN again 11-05T00
    p-tslcd  DOWN 10-26T00 .. UP 10-30T00          (4 days down)
    h1-man   UNREACHABLE from 11-05T00
No history at all: d1-fw1, d2-lan, h1-inet; d2-r1 is disabled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from netmon.inventory.files import Parsed, read_files
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from netmon.inventory.store import Store
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, Transition

PROVINCE_YAML = """\
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10, computers: 12, servers: 2, vc_endpoints: 1}
  - {code: D1, name: Sở Một, level: department, parent: P, staff: 20, computers: 15, servers: 1, vc_endpoints: 1}
  - {code: D2, name: Sở Hai, level: department, parent: P, staff: 5}
  - {code: H1, name: Huyện Một, level: district, parent: P, staff: 8, computers: 8, servers: 0, vc_endpoints: 1}
  - {code: W1, name: Xã Một, level: ward, parent: H1, computers: 3}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.30.1.1}
  - {name: p-sw1, unit: P, role: switch, address: 127.30.1.2, parent: p-r1}
  - {name: p-srv1, unit: P, role: server, address: 127.30.1.10, parent: p-sw1}
  - {name: p-vc1, unit: P, role: vc_endpoint, address: 127.30.1.20, parent: p-sw1}
  - {name: d1-sw1, unit: D1, role: switch, address: 127.30.2.2}
  - {name: d1-fw1, unit: D1, role: firewall, address: 127.30.2.3}
  - {name: d2-r1, unit: D2, role: router, address: 127.30.3.1, enabled: false}
  - {name: h1-r1, unit: H1, role: router, address: 127.30.10.1}
  - {name: h1-vc1, unit: H1, role: vc_endpoint, address: 127.30.10.20, parent: h1-r1}
links:
  - {name: p-lan, kind: lan, unit: P, device: p-sw1}
  - {name: p-inet, kind: internet, unit: P, device: p-r1, capacity_mbps: 100}
  - {name: p-tslcd, kind: tslcd, unit: P, capacity_mbps: 20}
  - {name: d1-inet, kind: internet, unit: D1, capacity_mbps: 50}
  - {name: d1-wan, kind: wan, unit: D1}
  - {name: d2-lan, kind: lan, unit: D2}
  - {name: h1-man, kind: man, unit: H1}
  - {name: h1-inet, kind: internet, unit: H1, capacity_mbps: 30}
"""

#: When the tests look: after October, after the changes of 11-05.
NOW = datetime(2026, 11, 10, tzinfo=UTC)
DAY = 86400

_UP_SINCE = datetime(2026, 9, 1, tzinfo=UTC)
_ALWAYS = [
    ("device", "p-r1"),
    ("device", "p-sw1"),
    ("device", "p-srv1"),
    ("device", "p-vc1"),
    ("device", "d1-sw1"),
    ("device", "h1-r1"),
    ("device", "h1-vc1"),
    ("link", "p-lan"),
    ("link", "p-inet"),
    ("link", "p-tslcd"),
    ("link", "d1-inet"),
    ("link", "d1-wan"),
    ("link", "h1-man"),
]
_CHANGES = [
    ("device", "p-sw1", State.DOWN, datetime(2026, 10, 5, 17, tzinfo=UTC)),
    ("device", "p-sw1", State.UP, datetime(2026, 10, 15, 17, tzinfo=UTC)),
    ("device", "h1-r1", State.MAINTENANCE, datetime(2026, 10, 10, tzinfo=UTC)),
    ("device", "h1-r1", State.UP, datetime(2026, 10, 11, tzinfo=UTC)),
    ("device", "p-srv1", State.UNREACHABLE, datetime(2026, 10, 20, tzinfo=UTC)),
    ("device", "p-srv1", State.UP, datetime(2026, 10, 22, tzinfo=UTC)),
    ("device", "p-vc1", State.DOWN, datetime(2026, 10, 5, 17, tzinfo=UTC)),
    ("device", "p-vc1", State.UP, datetime(2026, 10, 25, 17, tzinfo=UTC)),
    ("device", "h1-vc1", State.DOWN, datetime(2026, 10, 16, 17, tzinfo=UTC)),
    ("device", "h1-vc1", State.UP, datetime(2026, 10, 31, 17, tzinfo=UTC)),
    ("device", "h1-vc1", State.DOWN, datetime(2026, 11, 5, tzinfo=UTC)),
    ("link", "p-inet", State.DOWN, datetime(2026, 10, 2, tzinfo=UTC)),
    ("link", "p-inet", State.UP, datetime(2026, 10, 4, tzinfo=UTC)),
    ("link", "p-inet", State.DOWN, datetime(2026, 11, 5, tzinfo=UTC)),
    ("link", "p-tslcd", State.DOWN, datetime(2026, 10, 26, tzinfo=UTC)),
    ("link", "p-tslcd", State.UP, datetime(2026, 10, 30, tzinfo=UTC)),
    ("link", "h1-man", State.UNREACHABLE, datetime(2026, 11, 5, tzinfo=UTC)),
]


def parsed_province(tmp_path: Path) -> Parsed:
    """Read the fixture province's YAML as an import would."""
    path = tmp_path / "province.yaml"
    path.write_text(PROVINCE_YAML, encoding="utf-8")
    parsed = read_files([path])
    assert not parsed.issues, parsed.issues
    return parsed


def province(tmp_path: Path) -> Inventory:
    """The fixture province as an in-memory inventory."""
    records = parsed_province(tmp_path).records
    return Inventory(
        units={r.spec.key: r.spec for r in records[UnitSpec] if isinstance(r.spec, UnitSpec)},
        devices={r.spec.key: r.spec for r in records[DeviceSpec] if isinstance(r.spec, DeviceSpec)},
        links={r.spec.key: r.spec for r in records[LinkSpec] if isinstance(r.spec, LinkSpec)},
    )


def transitions() -> list[Transition]:
    """The state history, in time order."""
    state: dict[tuple[str, str], State] = {}
    out: list[Transition] = []
    events = [(kind, name, State.UP, _UP_SINCE) for kind, name in _ALWAYS] + _CHANGES
    for kind, name, new, ts in sorted(events, key=lambda e: e[3]):
        out.append(Transition(kind=kind, name=name, old=state.get((kind, name), State.UNKNOWN), new=new, ts=ts))
        state[(kind, name)] = new
    return out


def load_province(store: Store, tmp_path: Path) -> Inventory:
    """Import the province into *store*, record its history, and return the stored inventory."""
    store.import_parsed(parsed_province(tmp_path), profiles=set())
    OutageLedger(store.engine).apply(transitions())
    return store.snapshot()
