"""A real-shaped reorganisation on 2025-07-01, with a state history over 2025 (issue 16).

Before 2025-07-01 (three-tier):             From 2025-07-01 (two-tier):
    NB  province  Tỉnh Ninh Bình (servers=3)    NB  province  Tỉnh Ninh Bình (servers=3)
    ND  province  Tỉnh Nam Định (servers=1)     ─ ND merged into NB
    SKHCN department Sở KH&CN                   SKHCN department Sở Khoa học và Công nghệ
    STTTT department Sở TT&TT                   ─ STTTT merged into SKHCN
    HL  district  Huyện Hoa Lư                  ─ HL abolished, no successor
    X1  xã        (under HL)                    XN  xã        Xã Hoa Lư (under NB): X1 + X2 + X3
    X2  xã        (under HL)                    PT  phường    Phường Tây Hoa Lư (under NB), nothing in it
    X3  thị trấn  (under HL)

Devices: srv-b server in SKHCN; srv-a server in SKHCN, before 2025-07-01 in STTTT (a dated move);
x1-r1 router in X1. No unit but NB and ND declares servers.

Internet links (UTC; every one with a history is UP from 2024-12-01):
    nb-inet (NB), nd-inet (ND), sk-inet (SKHCN)  up all year
    st-inet (STTTT)   DOWN 2025-05-01 .. UP 2025-05-21 (20 days, in Q2)
    x1-inet (X1)      DOWN 2025-08-01 .. UP 2025-08-11 (10 days, in Q3)
    hl-inet (HL), x3-inet (X3)  no history at all: "no data"

Local periods (Asia/Ho_Chi_Minh): Q2 = 91 days, Q3 = 92 days; 2025 splits into
2025-01-01..2025-06-30 (181 days) and 2025-07-01..2025-12-31 (184 days).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from netmon.inventory.files import Parsed, read_files
from netmon.inventory.spec import Inventory
from netmon.inventory.store import Store
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, Transition

REORG_YAML = """\
units:
  - {code: NB, name: Tỉnh Ninh Bình, level: province, servers: 3}
  - {code: ND, name: Tỉnh Nam Định, level: province, servers: 1, valid_to: 2025-07-01, successor: NB}
  - {code: SKHCN, name: Sở Khoa học và Công nghệ, level: department, parent: NB}
  - {code: STTTT, name: Sở Thông tin và Truyền thông, level: department, parent: NB,
     valid_to: 2025-07-01, successor: SKHCN}
  - {code: HL, name: Huyện Hoa Lư, level: district, parent: NB, valid_to: 2025-07-01}
  - {code: X1, name: Xã Ninh Hải, level: commune, type: xã, parent: HL, valid_to: 2025-07-01, successor: XN}
  - {code: X2, name: Xã Ninh Xuân, level: commune, type: xã, parent: HL, valid_to: 2025-07-01, successor: XN}
  - {code: X3, name: Thị trấn Thiên Tôn, level: commune, type: thị trấn, parent: HL, valid_to: 2025-07-01,
     successor: XN}
  - {code: XN, name: Xã Hoa Lư, level: commune, type: xã, parent: NB, valid_from: 2025-07-01}
  - {code: PT, name: Phường Tây Hoa Lư, level: commune, type: phường, parent: NB, valid_from: 2025-07-01}
devices:
  - {name: srv-b, unit: SKHCN, role: server, address: 127.31.0.2}
  - {name: srv-a, unit: SKHCN, role: server, address: 127.31.0.1, previous_unit: STTTT, moved_on: 2025-07-01}
  - {name: x1-r1, unit: X1, role: router, address: 127.31.1.1}
links:
  - {name: nb-inet, kind: internet, unit: NB}
  - {name: nd-inet, kind: internet, unit: ND}
  - {name: sk-inet, kind: internet, unit: SKHCN}
  - {name: st-inet, kind: internet, unit: STTTT}
  - {name: hl-inet, kind: internet, unit: HL}
  - {name: x1-inet, kind: internet, unit: X1}
  - {name: x3-inet, kind: internet, unit: X3}
"""

#: When the tests look: after the year 2025.
NOW = datetime(2026, 1, 15, tzinfo=UTC)
DAY = 86400

_UP_SINCE = datetime(2024, 12, 1, tzinfo=UTC)
_MONITORED = ["nb-inet", "nd-inet", "sk-inet", "st-inet", "x1-inet"]
_CHANGES = [
    ("st-inet", State.DOWN, datetime(2025, 5, 1, tzinfo=UTC)),
    ("st-inet", State.UP, datetime(2025, 5, 21, tzinfo=UTC)),
    ("x1-inet", State.DOWN, datetime(2025, 8, 1, tzinfo=UTC)),
    ("x1-inet", State.UP, datetime(2025, 8, 11, tzinfo=UTC)),
]


def parsed_reorg(tmp_path: Path) -> Parsed:
    """Read the reorganisation's YAML as an import would."""
    path = tmp_path / "reorg.yaml"
    path.write_text(REORG_YAML, encoding="utf-8")
    parsed = read_files([path])
    assert not parsed.issues, parsed.issues
    return parsed


def transitions() -> list[Transition]:
    """The state history of the links, in time order."""
    events = [(name, State.UP, _UP_SINCE) for name in _MONITORED] + _CHANGES
    state: dict[str, State] = {}
    out: list[Transition] = []
    for name, new, ts in sorted(events, key=lambda e: e[2]):
        out.append(Transition(kind="link", name=name, old=state.get(name, State.UNKNOWN), new=new, ts=ts))
        state[name] = new
    return out


def load_reorg(store: Store, tmp_path: Path) -> Inventory:
    """Import the reorganisation into *store*, record its history, and return the stored inventory."""
    store.import_parsed(parsed_reorg(tmp_path), profiles=set())
    OutageLedger(store.engine).apply(transitions())
    return store.snapshot()
