"""Start-up reconciliation: what the last run knew, against the inventory of this run.

A device or link removed from the inventory while netmon was stopped kept its open outage (with
no end) and its retained MQTT state for ever (issue 15, failure 5): a reload closes them, a start
did not. `removed_since_last_run` rebuilds the last run's objects from the state history as a
`LiveState` and hands it to `LiveState.adopt`, the very code a reload uses, so a start and a
reload give the same REMOVED transitions: the recorder then closes each open outage with
`end_cause = removed` at the start time and writes the retained `removed` state to the outbox.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from netmon.inventory.spec import Inventory
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.monitor.outages import OUTAGE_KINDS, LastState
from netmon.monitor.state import ObjectKey, State, Transition

__all__ = ["removed_since_last_run"]


def removed_since_last_run(
    live: LiveState, last: Iterable[LastState], present: Collection[ObjectKey] | None = None
) -> list[Transition]:
    """Return REMOVED transitions (timestamped now) for devices and links the last run had and *live* lacks.

    *present* (one poller of several, issue 19): every object of the whole inventory; an object
    another poller owns is in it and is not gone. None: *live* holds the whole inventory.

    Objects whose last recorded state is already REMOVED are left alone, so a second start
    reports nothing new. *live* itself is not changed (it shares no object with the objects gone).
    """
    gone = [
        row
        for row in last
        if row.kind in OUTAGE_KINDS
        and row.state is not State.REMOVED
        and (row.kind, row.name) not in live.engine.objects
        and (present is None or (row.kind, row.name) not in present)
    ]
    if not gone:
        return []
    empty = Inventory(units={}, devices={}, links={})
    previous = LiveState(live.config, empty, MaintenanceSchedule(empty, live.schedule.zone, []))
    for row in gone:
        key = (row.kind, row.name)
        previous.engine.add(key)
        previous.engine.restore(key, row.state, row.since, row.root_cause)
    # adopt() takes over what *live* shares with the old state: nothing here, so *live* stays as it is
    return live.adopt(previous)
