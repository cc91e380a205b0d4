"""The state engine: observations in, transitions out. Pure logic, no I/O, no clock of its own.

Each round, every monitored object (device, link, interface) gets an observation: True (it
answered), False (it did not), or None (not polled this round). The engine applies:

- hysteresis: DOWN after `down_after` consecutive failures, UP after `up_after` successes
  (one lost round is not an outage); a new object becomes UP on its first success;
- dependencies: objects are evaluated parents first; an object that fails while something it
  depends on is DOWN or UNREACHABLE becomes UNREACHABLE, with that object's root cause; and
  while a dependency is itself failing but not yet decided, its dependants wait, so that an
  uplink failure gives one outage (the uplink's), not one per device behind it; a dependency
  in maintenance makes its failing dependants UNREACHABLE too (the work explains the failure);
- maintenance: an object in a maintenance window is MAINTENANCE, whatever it answers;
- flapping: more than `flap_changes` transitions within `flap_window` seconds mark it
  flapping; its transitions still happen, flagged so that alerts can be held;
- first judgement: an object's first transition out of UNKNOWN in this process (at start, or
  when a reload adds it), with no state restored for it, is flagged `first`: MQTT publishes its
  retained state and its outage, not a `transition` event (issue 12: no flood at each restart).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from netmon.kernel import ValueObject

__all__ = ["ObjectKey", "ObjectState", "State", "StateEngine", "StateRules", "Transition"]

#: (kind, name): kinds are "device", "link", "interface"; names are unique per kind.
ObjectKey = tuple[str, str]


class State(enum.StrEnum):
    """What netmon believes about an object."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"
    UNREACHABLE = "unreachable"
    MAINTENANCE = "maintenance"
    REMOVED = "removed"  # taken out of the inventory (a reload): never produced by observations


_FAILED = frozenset({State.DOWN, State.UNREACHABLE})
#: A dependency in one of these states makes a failing dependant UNREACHABLE, not DOWN.
_BLOCKING = _FAILED | {State.MAINTENANCE}
#: Decisions reached through hysteresis: dated from the first round that showed them.
_DATED = _FAILED | {State.UP}


@dataclass(frozen=True, kw_only=True)
class StateRules:
    """Hysteresis and flap-detection thresholds."""

    down_after: int = 3
    up_after: int = 2
    flap_changes: int = 4
    flap_window: float = 900.0


@dataclass(frozen=True, kw_only=True)
class Transition(ValueObject):
    """An object changed state; `root_cause` names the failed dependency behind an UNREACHABLE.

    `first` is True for the object's first judgement: out of UNKNOWN, never judged nor restored
    before in this process (see the module docstring).
    """

    kind: str
    name: str
    old: State
    new: State
    ts: datetime
    root_cause: str | None = None
    flapping: bool = False
    first: bool = False


#: Objects (or devices) handled between two yields of a stepped conclude: about 5 ms of work.
STEP = 2000
_T = TypeVar("_T")


def drain(steps: Generator[None, None, _T]) -> _T:
    """Run a stepped computation to its end at once; return its value."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


@dataclass(slots=True)
class ObjectState:
    """The engine's memory of one object (slotted: 10,000 devices have some 170,000 interface states)."""

    state: State = State.UNKNOWN
    since: datetime | None = None
    fails: int = 0
    successes: int = 0
    root_cause: str | None = None
    flapping: bool = False
    #: The recent transitions' times (the flap window), oldest first. A tuple, not a list: the GC stops tracking
    #: a tuple of datetimes, and the empty one is shared (190,000 lists were 19 % of the tracked heap at 10k).
    changes: tuple[datetime, ...] = ()
    streak_since: datetime | None = None  # the first round of the current run of failures or successes
    judged: bool = False  # a state was decided or restored in this process (not the first judgement any more)
    #: What it depends on, parents first. Kept here, not in a map of its own beside `StateEngine.objects`:
    #: a second dict of 190,000 keys at 10k devices was 10.5 MB. An interface shares its device's tuple.
    depends_on: tuple[ObjectKey, ...] = ()

    @property
    def suspect(self) -> bool:
        """Tell whether it is failing but not yet declared down."""
        return self.fails > 0 and self.state not in _FAILED

    def take(self, other: ObjectState) -> None:
        """Take *other*'s state and counters (a reload adopting an object), keeping this one's dependencies."""
        self.state, self.since, self.fails, self.successes = other.state, other.since, other.fails, other.successes
        self.root_cause, self.flapping, self.changes = other.root_cause, other.flapping, other.changes
        self.streak_since, self.judged = other.streak_since, other.judged


class StateEngine:
    """Turns rounds of observations into transitions, parents first."""

    def __init__(
        self,
        rules: StateRules,
        depends_on: Mapping[ObjectKey, Sequence[ObjectKey]],
        *,
        kind_rules: Mapping[str, StateRules] | None = None,
    ) -> None:
        self.rules = rules
        self._kind_rules = dict(kind_rules or {})
        deps = {key: tuple(keys) for key, keys in depends_on.items()}
        self._order = _parents_first(deps)
        self.objects: dict[ObjectKey, ObjectState] = {
            key: ObjectState(depends_on=deps.get(key, ())) for key in self._order
        }
        self._one_change: tuple[datetime, ...] = (datetime.min.replace(tzinfo=UTC),)
        #: Goes up whenever an object's state is set (a change or a restore): what reads every state can be kept.
        self.version = 0

    def add(self, key: ObjectKey, depends_on: Sequence[ObjectKey] = ()) -> None:
        """Register an object found while running (an interface); its dependencies must be known already."""
        if key in self.objects:
            return
        known = all(dep in self.objects for dep in depends_on)
        # a tuple given as is can be shared (an interface's is its device's: 170,000 of them at 10k)
        deps = (
            depends_on
            if known and isinstance(depends_on, tuple)
            else (tuple(dep for dep in depends_on if dep in self.objects))
        )
        self._order.append(key)
        self.objects[key] = ObjectState(depends_on=deps)

    def rules_for(self, key: ObjectKey) -> StateRules:
        """Return the thresholds that apply to *key*'s kind."""
        return self._kind_rules.get(key[0], self.rules)

    def restore(self, key: ObjectKey, state: State, since: datetime, root_cause: str | None = None) -> None:
        """Start an object in *state* (from an open outage) instead of UNKNOWN, after a restart."""
        memory = self.objects.get(key)
        if memory is not None:
            memory.state, memory.since, memory.root_cause = state, since, root_cause
            self.version += 1
            memory.judged = state is not State.UNKNOWN
            memory.fails = self.rules_for(key).down_after if state in _FAILED else 0

    def observe(
        self,
        ts: datetime,
        observations: Mapping[ObjectKey, bool | None],
        *,
        maintenance: Collection[ObjectKey] = (),
    ) -> list[Transition]:
        """Apply one round of observations at *ts*; return the transitions, parents first."""
        return drain(self.observe_steps(ts, observations, maintenance=maintenance))

    def observe_steps(
        self,
        ts: datetime,
        observations: Mapping[ObjectKey, bool | None],
        *,
        maintenance: Collection[ObjectKey] = (),
    ) -> Generator[None, None, list[Transition]]:
        """`observe` in steps: yields after every `STEP` objects, returns the transitions (StopIteration.value).

        A caller on the event loop gives the loop back at each yield (`LiveState.conclude_async`);
        it must keep every other observer of this engine out meanwhile (`Runtime.conclude_lock`).
        """
        transitions: list[Transition] = []
        objects, seen_in, maintained = self.objects, observations.get, State.MAINTENANCE
        for position, key in enumerate(self._order):
            if position % STEP == STEP - 1:
                yield
            memory = objects[key]
            if memory.flapping:
                self._settle(key, memory, ts)
            seen = seen_in(key)
            if seen is None and memory.state is not maintained and key not in maintenance:
                continue  # not observed this time (another class's object), nothing to end: as `_next` would
            new, cause = self._next(key, memory, seen, key in maintenance, ts)
            if new is None or (new is memory.state and cause == memory.root_cause):
                continue
            if new is memory.state:  # same state, another root cause (e.g. a deeper failure)
                memory.root_cause = cause
                continue
            transitions.append(self._change(key, memory, new, cause, ts))
        return transitions

    def _next(
        self, key: ObjectKey, memory: ObjectState, seen: bool | None, in_maintenance: bool, ts: datetime
    ) -> tuple[State | None, str | None]:
        """Update the counters and return the state the object should be in (None: keep it)."""
        if in_maintenance:
            memory.fails = memory.successes = 0
            memory.streak_since = None
            return State.MAINTENANCE, None
        if seen is None:
            return (State.UNKNOWN, None) if memory.state is State.MAINTENANCE else (None, None)
        streak = memory.successes if seen else memory.fails
        if streak == 0:
            memory.streak_since = ts
        return self._succeeded(key, memory) if seen else self._failed(key, memory)

    def _succeeded(self, key: ObjectKey, memory: ObjectState) -> tuple[State | None, str | None]:
        memory.fails, memory.successes = 0, memory.successes + 1
        fresh = memory.state in (State.UNKNOWN, State.MAINTENANCE)
        return (State.UP, None) if fresh or memory.successes >= self.rules_for(key).up_after else (None, None)

    def _failed(self, key: ObjectKey, memory: ObjectState) -> tuple[State | None, str | None]:
        memory.successes, memory.fails = 0, memory.fails + 1
        for dep in memory.depends_on:
            other = self.objects[dep]
            if other.state in _BLOCKING:
                memory.fails = 0  # cut off: its own failures count only once the way to it is back
                return State.UNREACHABLE, other.root_cause or dep[1]
        if any(self.objects[dep].suspect for dep in memory.depends_on):
            return None, None  # a dependency is failing too: wait for it to be decided first
        if memory.fails >= self.rules_for(key).down_after:
            return State.DOWN, None
        return None, None

    def _settle(self, key: ObjectKey, memory: ObjectState, ts: datetime) -> None:
        """Forget changes older than the flap window; an object that calmed down stops flapping."""
        rules = self.rules_for(key)
        window = timedelta(seconds=rules.flap_window)
        stale = 0
        while stale < len(memory.changes) and ts - memory.changes[stale] > window:
            stale += 1
        if stale:
            memory.changes = memory.changes[stale:]
        memory.flapping = len(memory.changes) > rules.flap_changes

    def _change(self, key: ObjectKey, memory: ObjectState, new: State, cause: str | None, ts: datetime) -> Transition:
        if new in _DATED and memory.streak_since is not None:
            # hysteresis delays the decision, not the event: date it from the first round that showed it
            ts = max(memory.streak_since, memory.since or memory.streak_since)
        if memory.changes:
            memory.changes = (*memory.changes, ts)
        else:  # one tuple for every object that changes at the same instant (the first round: 190,000 at 10k)
            if self._one_change[0] != ts:
                self._one_change = (ts,)
            memory.changes = self._one_change
        self._settle(key, memory, ts)
        transition = Transition(
            kind=key[0],
            name=key[1],
            old=memory.state,
            new=new,
            ts=ts,
            root_cause=cause,
            flapping=memory.flapping,
            first=memory.state is State.UNKNOWN and not memory.judged,
        )
        memory.state, memory.since, memory.root_cause, memory.judged = new, ts, cause, True
        self.version += 1
        return transition


def _parents_first(depends_on: Mapping[ObjectKey, Sequence[ObjectKey]]) -> list[ObjectKey]:
    """Order the objects so that every dependency comes before its dependants (cycles are broken)."""
    order: list[ObjectKey] = []
    placed: set[ObjectKey] = set()
    visiting: set[ObjectKey] = set()

    def visit(key: ObjectKey) -> None:
        if key in placed or key in visiting:
            return
        visiting.add(key)
        for dep in depends_on.get(key, ()):
            visit(dep)
        visiting.discard(key)
        placed.add(key)
        order.append(key)

    keys: Iterable[ObjectKey] = list(depends_on) + [d for deps in depends_on.values() for d in deps]
    for key in keys:
        visit(key)
    return order
