"""The live view: latest samples per device, the state engine, and how samples become observations.

Rounds feed it (`record` per batch of samples, `conclude` once a round is done); `/metrics`,
the API and the MQTT publisher read it. Everything here runs on the event loop and does no I/O.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime

import structlog

from netmon.config import Config
from netmon.inventory.spec import Inventory
from netmon.kernel import Sample, utcnow
from netmon.monitor.latest import LatestSamples
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.monitor.outages import CAUSES, OUTAGE_KINDS, LastState
from netmon.monitor.rates import LinkRates, LinkTraffic
from netmon.monitor.rounds import RoundResult
from netmon.monitor.state import STEP, ObjectKey, ObjectState, State, StateEngine, StateRules, Transition, drain
from netmon.monitor.topology import Topology, interface_key
from netmon.pollers import registry
from netmon.pollers.ifmib import interface_ids, resolve_interface
from netmon.pollers.samples import InterfaceRow, InterfacesSample, PingSample
from netmon.pollers.service import ServiceSample

__all__ = ["OWN_KINDS", "LiveState"]

#: Object kinds that stand on their own; every other kind (interfaces, poll class checks) hangs off a device.
#: A service (http/tcp check) is its own object: it may run on a device, but it is not one of the device's checks.
OWN_KINDS = frozenset({"device", "link", "service"})

_log = structlog.get_logger("netmon.live")

_UP = 1  # IF-MIB ifOperStatus / ifAdminStatus up(1)


class LiveState:
    """Latest samples and object states of one inventory."""

    def __init__(self, config: Config, inventory: Inventory, schedule: MaintenanceSchedule) -> None:
        self.config = config
        self.inventory = inventory
        self.schedule = schedule
        self.topology = Topology.build(inventory, config.state.uplink_kinds)
        cfg = config.state
        rules = StateRules(
            down_after=cfg.down_after, up_after=cfg.up_after, flap_changes=cfg.flap_changes, flap_window=cfg.flap_window
        )
        # ifOperStatus is a reading, not a guess from lost packets: one round decides an interface.
        exact = StateRules(down_after=1, up_after=1, flap_changes=cfg.flap_changes, flap_window=cfg.flap_window)
        self.engine = StateEngine(rules, self.topology.depends_on, kind_rules={"interface": exact})
        # a service check's sample carries the service's name where a device's carries the device's
        self.samples = LatestSamples([*inventory.devices, *inventory.services], registry.windows(config))
        links_on: dict[str, list[tuple[str, str]]] = {}
        for name, link in inventory.links.items():
            if link.device is not None and link.interface:
                links_on.setdefault(link.device, []).append((name, link.interface))
        self.rates = LinkRates(links_on)
        self.rounds: Counter[str] = Counter()
        #: Enabled devices without a ping sample yet: `/readyz` waits for them (issue 12).
        self.awaiting_ping = {name for name, device in inventory.devices.items() if device.enabled}
        #: A device's interfaces (and checks) in the state engine: lists, as 48 keys in a set cost 2 KB a switch.
        self._interfaces: dict[str, list[ObjectKey]] = {}
        self._under: dict[str, tuple[ObjectKey]] = {}  # a device's interfaces depend on it: one tuple each
        self._outages: tuple[int, Counter[tuple[str, str]]] = (-1, Counter())  # (engine version, counts)
        #: Links whose interface cannot be resolved on their device (a name several interfaces have).
        self.link_problems: dict[str, str] = {}
        self._link_of = {iface: link for link, iface in self.topology.link_interface.items()}

    def adopt(self, old: LiveState) -> list[Transition]:
        """Take over *old*'s states and samples for the objects still here (a reload); return REMOVED transitions.

        States are copied (`ObjectState.take`), not shared: each object keeps the dependencies of the
        new inventory, and *old* stays as it was, should the reload go no further.
        """
        now = utcnow()
        objects = self.engine.objects
        for key, memory in old.engine.objects.items():
            kind, name = key
            if kind not in OWN_KINDS:  # an interface or a poll class's check: it hangs off its device
                device = name.partition(":")[0]
                if device in self.inventory.devices:
                    self._register_interface(device, key)
                    objects[key].take(memory)
            elif key in objects:
                objects[key].take(memory)
        self.engine.version += 1  # states taken over
        self.samples.adopt(old.samples)
        self.rates.adopt(old.rates)
        self.rounds.update(old.rounds)
        self.awaiting_ping = {n for n in self.awaiting_ping if self.samples.newest(n, PingSample.kind) is None}
        return [
            Transition(kind=kind, name=name, old=memory.state, new=State.REMOVED, ts=now)
            for (kind, name), memory in old.engine.objects.items()
            if kind in OUTAGE_KINDS and (kind, name) not in self.engine.objects
        ]

    def restore(self, last: Iterable[LastState]) -> None:
        """Start objects in their last recorded state (after a restart) instead of UNKNOWN."""
        for row in last:
            key = (row.kind, row.name)
            if row.kind not in OWN_KINDS:
                device = row.name.partition(":")[0]
                if device not in self.inventory.devices:
                    continue
                self._register_interface(device, key)
            self.engine.restore(key, row.state, row.since, row.root_cause)

    def record(self, samples: Sequence[Sample]) -> None:
        """Keep the newest sample of each kind per device (`LatestSamples.record`); follow links' counters."""
        self.samples.record(samples)
        for sample in samples:
            if sample.kind == PingSample.kind:
                self.awaiting_ping.discard(sample.device)
            if isinstance(sample, InterfacesSample) and self.samples.newest(sample.device, sample.kind) is sample:
                self.rates.update(sample)

    def not_ready(self, *, named: int = 5) -> list[str]:
        """Return why the live view is not ready: empty once every enabled device has a ping sample.

        Ready as soon as the last first ping sample arrives, or once the first ping round is done
        (devices that ping does not apply to). Names at most *named* of the devices still awaited.
        """
        if self.rounds["ping"] or not self.awaiting_ping:
            return []
        waiting = sorted(self.awaiting_ping)
        shown = ", ".join(waiting[:named]) + (", ..." if len(waiting) > named else "")
        total = sum(1 for device in self.inventory.devices.values() if device.enabled)
        return [f"first ping samples: {len(waiting)} of {total} devices still awaited ({shown})"]

    def conclude(self, result: RoundResult, now: datetime, *, extra: bool = False) -> list[Transition]:
        """Turn a finished round (or an *extra* poll of a few devices) into state transitions, parents first."""
        return drain(self.conclude_steps(result, now, extra=extra))

    async def conclude_async(self, result: RoundResult, now: datetime, *, extra: bool = False) -> list[Transition]:
        """`conclude`, giving the event loop back every `STEP` objects (about 5 ms).

        At 10,000 devices an SNMP round's conclusion touches ~180,000 objects (0.5 s): in one piece
        it would hold /healthz, the scrapes and the other rounds. The caller holds
        `Runtime.conclude_lock`, so that no other conclusion or reload interleaves with it.
        """
        steps = self.conclude_steps(result, now, extra=extra)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            await asyncio.sleep(0)

    def conclude_steps(
        self, result: RoundResult, now: datetime, *, extra: bool = False
    ) -> Generator[None, None, list[Transition]]:
        """`conclude` in steps (see `StateEngine.observe_steps`)."""
        if not extra:
            self.rounds[result.poll_class] += 1
        observations: dict[ObjectKey, bool | None] = {}
        services = {sample.device for sample in result.samples if isinstance(sample, ServiceSample)}
        devices = {
            sample.device
            for sample in result.samples
            if sample.device in self.inventory.devices and not isinstance(sample, ServiceSample)
        }
        for service in services:  # http/tcp checks: one observation per enabled service
            if ("service", service) in self.engine.objects:
                check = self.samples.fresh(service, ServiceSample.kind, now)
                observations[("service", service)] = check.ok if check is not None else None
        mark = STEP
        for device in devices:
            if len(observations) >= mark:  # objects, not devices: a 48-port switch is 49 of them
                mark = len(observations) + STEP
                yield
            if result.poll_class == "ping":
                ping = self.samples.fresh(device, PingSample.kind, now)
                observations[("device", device)] = ping.ok if ping is not None else None
                # links are judged on the ping rhythm, with the newest interface reading: one
                # hysteresis clock for a link and the devices behind it
                for link in self.topology.links_on.get(device, ()):
                    observations[("link", link)] = self._link_observation(link, now)
            elif result.poll_class == "snmp":
                observations.update(self._interface_observations(device, now))
            else:
                observations.update(self._check_observation(result.poll_class, device, now))
        maintenance = self._in_maintenance(now)
        return (yield from self.engine.observe_steps(now, observations, maintenance=maintenance))

    def _in_maintenance(self, now: datetime) -> set[ObjectKey]:
        keys = self.schedule.active_objects(now)
        for kind, name in list(keys):
            if kind == "device":
                keys.update(self._interfaces.get(name, ()))
        return keys

    def _register_interface(self, device: str, key: ObjectKey) -> None:
        if key in self.engine.objects:
            return  # known (every SNMP round names every interface again): only this method adds keys
        self.engine.add(key, self._under.setdefault(device, (("device", device),)))
        self._interfaces.setdefault(device, []).append(key)

    def _check_observation(self, poll_class: str, device: str, now: datetime) -> dict[ObjectKey, bool | None]:
        """Judge a stateful poll class's check of *device*: key (class name, device), under the device."""
        try:
            kind = registry.class_of(poll_class)
        except KeyError:
            return {}
        if not kind.stateful:
            return {}
        key = (poll_class, device)
        self._register_interface(device, key)
        sample = self.samples.fresh(device, kind.sample_kinds[0].kind, now)
        return {key: kind.verdict(sample) if sample is not None else None}

    @property
    def services(self) -> dict[str, ServiceSample]:
        """Return the newest check of each enabled service that has been checked, by service name."""
        found: dict[str, ServiceSample] = {}
        for name in self.inventory.services:
            sample = self.samples.newest(name, ServiceSample.kind)
            if isinstance(sample, ServiceSample) and ("service", name) in self.engine.objects:
                found[name] = sample
        return found

    def checks_of(self, device: str) -> dict[str, State]:
        """Return the state of every stateful poll class's check of *device* (the API's `checks`)."""
        return {
            name: self.engine.objects[(name, device)].state
            for name in registry.names()
            if (name, device) in self.engine.objects
        }

    def _interface_observations(self, device: str, now: datetime) -> dict[ObjectKey, bool | None]:
        sample = self._fresh_interfaces(device, now)
        if sample is None:
            return {}
        seen: dict[ObjectKey, bool | None] = {}
        ids = interface_ids(sample.interfaces)
        for row in sample.interfaces:
            key = interface_key(device, ids[row.if_index])
            self._register_interface(device, key)
            seen[key] = _interface_up(row)
        return seen

    def _fresh_interfaces(self, device: str, now: datetime) -> InterfacesSample | None:
        sample = self.samples.fresh(device, InterfacesSample.kind, now)
        return sample if isinstance(sample, InterfacesSample) and sample.ok else None

    def _link_observation(self, link: str, now: datetime) -> bool | None:
        """Judge a link: down if its interface is oper-down while admin-up, or if its far end stops answering ping."""
        spec = self.inventory.links[link]
        if spec.device is None:
            return None
        ping = self.samples.fresh(spec.device, PingSample.kind, now)
        interface: bool | None = None
        sample = self._fresh_interfaces(spec.device, now)
        if sample is not None and spec.interface:
            row = self._link_interface(link, spec.device, spec.interface, sample)
            if row is not None and row.admin_status is not None and row.admin_status != _UP:
                return None  # shut down on purpose: not judged
            interface = _interface_up(row) if row is not None else None
        if ping is not None and not ping.ok:
            return False
        if interface is not None:
            return interface
        return True if ping is not None else None

    def _link_interface(self, link: str, device: str, wanted: str, sample: InterfacesSample) -> InterfaceRow | None:
        """Return the interface a link names; None (not judged by it) when absent or ambiguous, logged once."""
        found = resolve_interface(sample.interfaces, wanted)
        if not isinstance(found, list):
            self.link_problems.pop(link, None)
            return found
        problem = f"interface {wanted!r} is ambiguous on {device}: {', '.join(found)}; name one of them in the link"
        if self.link_problems.get(link) != problem:
            _log.warning("link interface ambiguous", link=link, device=device, interface=wanted, candidates=found)
        self.link_problems[link] = problem
        return None

    # ---- reading ---------------------------------------------------------------------------

    def state_of(self, key: ObjectKey) -> ObjectState:
        """Return the engine's memory of *key* (UNKNOWN for an object it does not track)."""
        return self.engine.objects.get(key) or ObjectState()

    def interfaces_of(self, device: str, now: datetime | None = None) -> tuple[InterfaceRow, ...]:
        """Return the device's interfaces from its current IF-MIB sample (none when stale or failed)."""
        sample = self._fresh_interfaces(device, now or utcnow()) if device in self.inventory.devices else None
        return sample.interfaces if sample is not None else ()

    def link_traffic(self, link: str, now: datetime | None = None) -> LinkTraffic | None:
        """Return the link's current traffic, from its device's fresh IF-MIB sample (None when stale or unknown)."""
        spec = self.inventory.links.get(link)
        if spec is None or spec.device is None:
            return None
        sample = self._fresh_interfaces(spec.device, now or utcnow())
        traffic = self.rates.traffic(link)
        return traffic if sample is not None and traffic is not None and traffic.ts == sample.ts else None

    def fresh(self, device: str, kind: str, now: datetime | None = None) -> Sample | None:
        """Return the device's current sample of *kind* (`LatestSamples.fresh`), as of *now* (default: now)."""
        return self.samples.fresh(device, kind, now or utcnow())

    def open_outages(self) -> Counter[tuple[str, str]]:
        """Count the objects now down, unreachable or in maintenance, by (kind, cause).

        Counted again only when a state changed (`StateEngine.version`): every /metrics scrape asks,
        and counting walked 190,000 objects at 10k devices, 30 to 60 ms on the event loop (issue 12).
        """
        if self._outages[0] != self.engine.version:
            counts: Counter[tuple[str, str]] = Counter()
            for (kind, _), memory in self.engine.objects.items():
                cause = CAUSES.get(memory.state)
                if kind in OUTAGE_KINDS and cause is not None:
                    counts[(kind, cause)] += 1
            self._outages = (self.engine.version, counts)
        return self._outages[1].copy()

    def indicator_states(self) -> dict[ObjectKey, State]:
        """Return the current state of every object an indicator can read: all but the interfaces.

        A copy made on the event loop; at 10,000 devices it leaves out some 170,000 interfaces.
        """
        return {key: memory.state for key, memory in self.engine.objects.items() if key[0] != "interface"}

    def states(self, kind: str) -> dict[str, State]:
        """Return the current state of every object of *kind*."""
        return {name: memory.state for (k, name), memory in self.engine.objects.items() if k == kind}


#: How an admin-up interface's ifOperStatus judges it (RFC 2863): up(1) is up; down(2), notPresent(6)
#: (a missing component) and lowerLayerDown(7) are down. testing(3) and unknown(4) say nothing of
#: a fault, and dormant(5) is "a 'pending' state, waiting for some external event" (a dial-on-demand
#: or standby backup interface): those, like an unknown value, are not judged (None).
_OPER_JUDGED = {_UP: True, 2: False, 6: False, 7: False}


def _interface_up(row: InterfaceRow) -> bool | None:
    """Judge an interface by `_OPER_JUDGED` while admin-up; one shut down on purpose is not judged."""
    if row.admin_status is not None and row.admin_status != _UP:
        return None
    return _OPER_JUDGED.get(row.oper_status) if row.oper_status is not None else None
