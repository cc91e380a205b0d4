"""Availability from the state history, and `netmon outages list`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from typer.testing import CliRunner

from netmon.cli import app
from netmon.inventory.files import read_files
from netmon.inventory.store import Store
from netmon.monitor.availability import day_bounds, object_seconds, read_days, rollup_day
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, Transition
from tests.conftest import EXAMPLE_CONFIG, EXAMPLE_INVENTORY

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = 3600.0


def _t(kind: str, name: str, change: tuple[State, State], ts: datetime, cause: str | None = None) -> Transition:
    return Transition(kind=kind, name=name, old=change[0], new=change[1], ts=ts, root_cause=cause)


def load(store: Store, path: Path) -> None:
    store.import_parsed(read_files([path]), profiles={"lab-v2c", "lab-v3"})


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def test_an_outage_across_a_quarter_boundary_splits_in_the_local_zone(store: Store) -> None:
    ledger = OutageLedger(store.engine)
    # the uplink fails at 22:00 on 30 September (local) and returns at 03:00 on 1 October: 2 h in Q3, 3 h in Q4
    ledger.apply([_t("link", "h01-man", (State.UNKNOWN, State.UP), _local("2026-09-30T12:00"))])
    ledger.apply([_t("link", "h01-man", (State.UP, State.DOWN), _local("2026-09-30T22:00"))])
    ledger.apply([_t("device", "h01-r1", (State.UP, State.UNREACHABLE), _local("2026-09-30T22:00"), "h01-man")])
    ledger.apply([_t("link", "h01-man", (State.DOWN, State.UP), _local("2026-10-01T03:00"))])
    ledger.apply([_t("device", "h01-r1", (State.UNREACHABLE, State.UP), _local("2026-10-01T03:00"))])
    q3 = (_local("2026-07-01T00:00"), _local("2026-10-01T00:00"))
    q4 = (_local("2026-10-01T00:00"), _local("2026-10-01T06:00"))  # the data ends here
    with store.engine.connect() as conn:
        in_q3, in_q4 = object_seconds(conn, *q3), object_seconds(conn, *q4)
    link_q3, link_q4 = in_q3[("link", "h01-man")], in_q4[("link", "h01-man")]
    assert (link_q3.up, link_q3.down) == (10 * HOUR, 2 * HOUR)
    assert link_q3.unknown == (q3[1] - q3[0]).total_seconds() - 12 * HOUR  # before its first state
    assert (link_q4.up, link_q4.down) == (3 * HOUR, 3 * HOUR)
    assert link_q4.ratio == 0.5
    device_q4 = in_q4[("device", "h01-r1")]
    assert (device_q4.unreachable, device_q4.up, device_q4.down) == (3 * HOUR, 3 * HOUR, 0.0)
    assert device_q4.ratio == 1.0  # unreachable is not down


def test_daily_rollup_per_object_and_unit(store: Store) -> None:
    load(store, EXAMPLE_INVENTORY)
    inventory = store.snapshot()
    ledger = OutageLedger(store.engine)
    day = date(2026, 11, 20)
    start, _ = day_bounds(day, ZONE)
    ledger.apply([_t("link", "sl-h01-man", (State.UNKNOWN, State.UP), start - timedelta(days=1))])
    ledger.apply([_t("link", "sl-h01-man", (State.UP, State.DOWN), start + timedelta(hours=6))])
    ledger.apply([_t("link", "sl-h01-man", (State.DOWN, State.MAINTENANCE), start + timedelta(hours=7))])
    ledger.apply([_t("link", "sl-h01-man", (State.MAINTENANCE, State.UP), start + timedelta(hours=9))])
    rows = rollup_day(store.engine, inventory, day, ZONE, datetime.now(UTC))
    enabled = sum(1 for d in inventory.devices.values() if d.enabled)
    services = sum(1 for s in inventory.services.values() if s.enabled)
    assert rows == enabled + len(inventory.links) + services + len(
        {d.unit for d in inventory.devices.values()} | {link.unit for link in inventory.links.values()}
    )
    assert rollup_day(store.engine, inventory, day, ZONE, datetime.now(UTC)) == rows  # a re-run replaces the rows
    link = read_days(store.engine, day, day, kind="link")[("link", "sl-h01-man")]
    assert (link.up, link.down, link.maintenance, link.unknown) == (21 * HOUR, HOUR, 2 * HOUR, 0.0)
    unit = read_days(store.engine, day, day, kind="unit")[("unit", "SL-LG")]
    assert unit.down == HOUR
    assert unit.maintenance == 2 * HOUR
    assert unit.total == 24 * HOUR * 21  # 11 devices and 10 links of SL-LG (the former SL-H01), one day each
    with store.engine.connect() as conn:
        count = conn.execute(sa.text("select count(*) from availability_daily")).scalar()
    assert count == rows


def test_outages_list_filters_by_unit_cause_and_time(store: Store, tmp_path: Path, db_url: str) -> None:
    load(store, EXAMPLE_INVENTORY)
    ledger = OutageLedger(store.engine)
    now = datetime.now(UTC).replace(microsecond=0)
    ledger.apply([_t("link", "sl-h01-man", (State.UP, State.DOWN), now - timedelta(hours=2))])
    ledger.apply([_t("device", "sl-h01-x01-r1", (State.UP, State.UNREACHABLE), now - timedelta(hours=2), "sl-h01-man")])
    ledger.apply([_t("device", "sl-stc-r1", (State.UP, State.DOWN), now - timedelta(days=3))])
    ledger.apply([_t("device", "sl-stc-r1", (State.DOWN, State.UP), now - timedelta(days=2))])
    config = tmp_path / "netmon.yaml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("url: sqlite:///var/netmon.db", f"url: {db_url}")
    config.write_text(text, encoding="utf-8")

    def outages(*args: str) -> list[tuple[str, str, str | None]]:
        result = CliRunner().invoke(app, ["outages", "list", "--config", str(config), "--json", *args])
        assert result.exit_code == 0, result.output
        return [(o["name"], o["cause"], o["unit"]) for o in json.loads(result.stdout)]

    assert outages("--unit", "SL-LG") == [
        ("sl-h01-x01-r1", "unreachable", "SL-LG"),
        ("sl-h01-man", "down", "SL-LG"),
    ]
    assert outages("--cause", "down") == [("sl-h01-man", "down", "SL-LG"), ("sl-stc-r1", "down", "SL-STC")]
    assert outages("--since", "1d", "--cause", "down") == [("sl-h01-man", "down", "SL-LG")]
    assert outages("--open", "--unit", "SL-STC") == []
    table = CliRunner().invoke(app, ["outages", "list", "--config", str(config), "--open"])
    assert "sl-h01-man" in table.stdout
    assert "open" in table.stdout
    for since in ("last week", "1000000d"):  # the second was an OverflowError traceback
        bad = CliRunner().invoke(app, ["outages", "list", "--config", str(config), "--since", since])
        assert bad.exit_code == 2, bad.output
        assert "--since" in bad.output
        assert "Traceback" not in bad.output


def test_the_rollup_reads_only_the_kinds_it_stores(store: Store) -> None:
    # at 10k devices the interfaces' history is 172,000 rows a day: the roll-up has no row for them
    ledger = OutageLedger(store.engine)
    ledger.apply([_t("link", "h01-man", (State.UNKNOWN, State.UP), _local("2026-09-30T12:00"))])
    ledger.apply([_t("interface", "h01-r1:ge0", (State.UNKNOWN, State.UP), _local("2026-09-30T12:00"))])
    day = (_local("2026-09-30T00:00"), _local("2026-09-30T18:00"))
    with store.engine.connect() as conn:
        every, rolled = object_seconds(conn, *day), object_seconds(conn, *day, kinds=("device", "link"))
    assert set(every) == {("link", "h01-man"), ("interface", "h01-r1:ge0")}
    assert rolled == {("link", "h01-man"): every[("link", "h01-man")]}
