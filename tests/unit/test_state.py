"""The state engine as a table of scenarios, each with its expected transitions per round."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from netmon.monitor.state import ObjectState, State, StateEngine, StateRules, Transition

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
RULES = StateRules(down_after=3, up_after=2, flap_changes=4, flap_window=900)


def _render(t: Transition) -> str:
    text = f"{t.name} {t.old}→{t.new}"
    if t.root_cause:
        text += f" ({t.root_cause})"
    return text + (" flapping" if t.flapping else "")


def run(deps: dict[str, list[str]], rounds: list[tuple[str, str]], rules: StateRules = RULES) -> list[list[str]]:
    """Rounds are ("r1+ r2- r3?", "maintenance names"); '+' answered, '-' did not, '?' not polled."""
    engine = StateEngine(rules, {("device", n): [("device", d) for d in ds] for n, ds in deps.items()})
    out = []
    for index, (seen, maintenance) in enumerate(rounds):
        observations = {("device", tok[:-1]): {"+": True, "-": False, "?": None}[tok[-1]] for tok in seen.split()}
        window = {("device", n) for n in maintenance.split()}
        ts = T0 + timedelta(minutes=index)
        out.append([_render(t) for t in engine.observe(ts, observations, maintenance=window)])
    return out


SCENARIOS = [
    pytest.param(
        {"r": []},
        [("r+", ""), ("r-", ""), ("r+", ""), ("r-", ""), ("r-", ""), ("r+", "")],
        [["r unknown→up"], [], [], [], [], []],
        id="one-lost-round-is-not-an-outage",
    ),
    pytest.param(
        {"r": []},
        [("r+", ""), ("r-", ""), ("r-", ""), ("r-", ""), ("r+", ""), ("r+", "")],
        [["r unknown→up"], [], [], ["r up→down"], [], ["r down→up"]],
        id="down-after-3-up-after-2",
    ),
    pytest.param(
        {"r": []},
        [("r-", ""), ("r-", ""), ("r-", ""), ("r?", ""), ("r+", "")],
        [[], [], ["r unknown→down"], [], []],
        id="new-object-down-and-not-polled-is-no-change",
    ),
    pytest.param(
        {"up": [], "w1": ["up"], "w2": ["up"]},
        [("up+ w1+ w2+", ""), ("up- w1- w2-", ""), ("up- w1- w2-", ""), ("up- w1- w2-", "")],
        [
            ["up unknown→up", "w1 unknown→up", "w2 unknown→up"],
            [],
            [],
            ["up up→down", "w1 up→unreachable (up)", "w2 up→unreachable (up)"],
        ],
        id="uplink-down-children-unreachable",
    ),
    pytest.param(
        {"up": [], "w": ["up"]},
        [("up+ w+", ""), ("up+ w-", ""), ("up- w-", ""), ("up- w-", ""), ("up- w-", "")],
        [["up unknown→up", "w unknown→up"], [], [], [], ["up up→down", "w up→unreachable (up)"]],
        id="child-failing-first-waits-for-its-parent",
    ),
    pytest.param(
        {"p": [], "d": ["p"], "w": ["d"]},
        [("p+ d+ w+", ""), *[("p+ d- w-", "")] * 3, *[("p- d- w-", "")] * 3],
        [
            ["p unknown→up", "d unknown→up", "w unknown→up"],
            [],
            [],
            ["d up→down", "w up→unreachable (d)"],
            [],
            [],
            ["p up→down", "d down→unreachable (p)"],
        ],
        id="deeper-failure-takes-over-the-root-cause",
    ),
    pytest.param(
        {"up": [], "w": ["up"]},
        [("up+ w+", ""), *[("up- w-", "")] * 3, ("up+ w+", ""), ("up+ w+", "")],
        [
            ["up unknown→up", "w unknown→up"],
            [],
            [],
            ["up up→down", "w up→unreachable (up)"],
            [],
            ["up down→up", "w unreachable→up"],
        ],
        id="uplink-restored-everything-up",
    ),
    pytest.param(
        {"r": []},
        [("r+", ""), ("r-", "r"), ("r-", "r"), ("r-", "r"), ("r-", "r"), ("r+", "")],
        [["r unknown→up"], ["r up→maintenance"], [], [], [], ["r maintenance→up"]],
        id="maintenance-hides-failures",
    ),
    pytest.param(
        {"up": [], "w": ["up"]},
        [("up+ w+", ""), *[("up- w-", "up")] * 3],
        [["up unknown→up", "w unknown→up"], ["up up→maintenance", "w up→unreachable (up)"], [], []],
        id="children-of-a-parent-in-maintenance-are-unreachable",
    ),
    pytest.param(
        {"r": []},
        [("r+", ""), *[("r-", ""), ("r+", "")] * 3],
        [
            ["r unknown→up"],
            ["r up→down"],
            ["r down→up"],
            ["r up→down"],
            ["r down→up flapping"],
            ["r up→down flapping"],
            ["r down→up flapping"],
        ],
        id="flapping-is-flagged",
    ),
]


@pytest.mark.parametrize(("deps", "rounds", "expected"), SCENARIOS)
def test_scenarios(deps: dict[str, list[str]], rounds: list[tuple[str, str]], expected: list[list[str]]) -> None:
    rules = StateRules(down_after=1, up_after=1, flap_changes=4, flap_window=900) if "flap" in str(expected) else RULES
    assert run(deps, rounds, rules) == expected


def test_transitions_round_trip_through_dicts() -> None:
    engine = StateEngine(RULES, {("link", "tslcd-1"): []})
    [transition] = engine.observe(T0, {("link", "tslcd-1"): True})
    assert Transition.from_dict(transition.to_dict()) == transition
    assert engine.objects[("link", "tslcd-1")].state is State.UP


def test_only_the_first_judgement_of_an_object_is_flagged_first() -> None:
    """Issue 12: the first way out of UNKNOWN in this process is `first`; after maintenance or a restore it is not."""
    r, s, t = ("device", "r"), ("device", "s"), ("device", "t")
    engine = StateEngine(RULES, {r: [], s: [], t: []})
    engine.restore(s, State.DOWN, T0 - timedelta(hours=1))
    engine.restore(t, State.UNKNOWN, T0 - timedelta(hours=1))  # last recorded unknown: still never judged here
    first = engine.observe(T0, {r: True, s: True, t: False})
    assert [(x.name, x.old, x.new, x.first) for x in first] == [("r", State.UNKNOWN, State.UP, True)]
    for minute in (1, 2):
        engine.observe(T0 + timedelta(minutes=minute), {s: True, t: False})
    assert [(x.name, x.new, x.first) for x in engine.observe(T0 + timedelta(minutes=3), {t: False})] == []
    engine2 = StateEngine(RULES, {t: []})
    engine2.restore(t, State.UNKNOWN, T0)
    judged = [x for m in range(3) for x in engine2.observe(T0 + timedelta(minutes=m), {t: False})]
    assert [(x.new, x.first) for x in judged] == [(State.DOWN, True)]
    engine.observe(T0 + timedelta(minutes=4), {r: True}, maintenance={r})
    back = engine.observe(T0 + timedelta(minutes=5), {r: None})
    assert [(x.old, x.new, x.first) for x in back] == [(State.MAINTENANCE, State.UNKNOWN, False)]
    again = engine.observe(T0 + timedelta(minutes=6), {r: True})
    assert [(x.old, x.new, x.first) for x in again] == [(State.UNKNOWN, State.UP, False)]


def test_objects_first_judged_together_share_one_change_record() -> None:
    """190,000 objects judged in the first round at 10k hold one tuple of changes, not one each (issue 12)."""
    keys = [("interface", f"sw1:port{i}") for i in range(50)]
    engine = StateEngine(StateRules(down_after=1, up_after=1), dict.fromkeys(keys, ()))
    assert len(engine.observe(T0, dict.fromkeys(keys, True))) == 50
    assert len({id(engine.objects[key].changes) for key in keys}) == 1
    assert engine.objects[keys[0]].changes == (T0,)
    later = T0 + timedelta(minutes=1)
    engine.observe(later, {keys[0]: False})
    assert (engine.objects[keys[0]].changes, engine.objects[keys[1]].changes) == ((T0, later), (T0,))


def test_a_taken_state_copies_every_field_but_the_dependencies() -> None:
    # a field added to ObjectState and forgotten in `take` would be lost at every reload
    ts = datetime(2026, 11, 30, tzinfo=UTC)
    other = ObjectState(
        state=State.DOWN,
        since=ts,
        fails=3,
        successes=1,
        root_cause="uplink",
        flapping=True,
        changes=(ts,),
        streak_since=ts,
        judged=True,
        depends_on=(("link", "old"),),
    )
    taken = ObjectState(depends_on=(("link", "new"),))
    taken.take(other)
    for field in dataclasses.fields(ObjectState):
        expected = getattr(other, field.name)
        if field.name == "depends_on":
            assert taken.depends_on == (("link", "new"),)
        else:
            assert getattr(taken, field.name) == expected, field.name
            assert expected != getattr(ObjectState(), field.name), f"give {field.name} a value unlike its default"
