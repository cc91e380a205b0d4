"""Service outages and availability on SQLite and PostgreSQL: a service is an object like a device or a link."""

from __future__ import annotations

from datetime import date, datetime

from netmon.inventory.store import Store
from netmon.monitor.availability import day_bounds, read_days, rollup_day
from netmon.monitor.outages import OutageLedger
from netmon.monitor.state import State, Transition
from tests.conftest import EXAMPLE_INVENTORY
from tests.integration.test_availability import ZONE, load

HOUR = 3600.0
DAY = date(2026, 11, 20)


def _at(hour: int) -> datetime:
    return day_bounds(DAY, ZONE)[0].replace(hour=hour)


def _t(name: str, old: State, new: State, hour: int, cause: str | None = None) -> Transition:
    return Transition(kind="service", name=name, old=old, new=new, ts=_at(hour), root_cause=cause)


def test_service_outages_open_close_and_roll_up(store: Store) -> None:
    load(store, EXAMPLE_INVENTORY)
    ledger = OutageLedger(store.engine)
    ledger.apply([_t("sl-portal", State.UNKNOWN, State.UP, 0), _t("sl-vc-sip", State.UNKNOWN, State.UP, 0)])
    ledger.apply([_t("sl-portal", State.UP, State.DOWN, 8)])
    ledger.apply([_t("sl-vc-sip", State.UP, State.UNREACHABLE, 9, "sl-ubnd-vc1")])
    ledger.apply([_t("sl-portal", State.DOWN, State.UP, 10)])
    ledger.apply([_t("sl-portal", State.UP, State.DOWN, 10)])  # a replay-safe ledger: a new outage, not a merge
    outages = {(o.name, o.cause, o.root_cause, o.ended_at is None) for o in ledger.outages()}
    assert outages == {
        ("sl-portal", "down", None, False),
        ("sl-portal", "down", None, True),
        ("sl-vc-sip", "unreachable", "sl-ubnd-vc1", True),
    }
    assert {(s.kind, s.name, s.state) for s in ledger.last_states()} >= {
        ("service", "sl-portal", State.DOWN),
        ("service", "sl-vc-sip", State.UNREACHABLE),
    }
    end = day_bounds(DAY, ZONE)[1]
    rollup_day(store.engine, store.snapshot(), DAY, ZONE, end)
    services = read_days(store.engine, DAY, DAY, kind="service")
    assert set(services) == {("service", name) for name in store.snapshot().services}
    portal = services[("service", "sl-portal")]
    assert (portal.up, portal.down) == (8 * HOUR, 16 * HOUR)
    sip = services[("service", "sl-vc-sip")]
    assert (sip.up, sip.unreachable, sip.ratio) == (9 * HOUR, 15 * HOUR, 1.0)  # unreachable is not down
    unit = read_days(store.engine, DAY, DAY, kind="unit")[("unit", "SL")]
    assert unit.down == 0.0  # a unit's own row is its network: services do not count in it
