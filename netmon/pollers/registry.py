"""Poll classes, the unit of extension: the `PollClass` protocol, the registry, and `poll_target()`.

A poll class is one module holding a class that follows `PollClass`, plus one line in `BUILTIN`
below. Its settings are `polling.<name>` in the config (validated against the registry's names:
an unknown class is a config error naming the key), the scheduler runs one job for it, its
samples go through the latest-sample store (`netmon.monitor.latest`) and its exporter
(`PollClass.export`) is what `/metrics` shows of it.

Every poll of one target (a scheduled round, a trap-triggered poll, `netmon poll --once`)
goes through `poll_target()`, which owns the two policies that used to be copied (issue 11):

- the deadline: a target that takes longer than `deadline(target)` seconds is cut off and
  reported with `failed(target, TIMEOUT, ...)`;
- exceptions: any `Exception` raised by a poller (gufo documents `RuntimeError` for
  `get_many`) is logged with its traceback and reported with `failed(target, ERROR, ...)`.
  Failure is data (STYLE.md 4): `poll_target()` never raises except for cancellation.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, cast

import structlog

from netmon.kernel import Sample, Status, Target
from netmon.pollers.snmpwalk import idle_deadline

if TYPE_CHECKING:
    from netmon.config import Config
    from netmon.config import PollClass as PollSettings
    from netmon.sinks.exposition import DeviceView, Lines

__all__ = [
    "BUILTIN",
    "NAME_LIMIT",
    "PollClass",
    "build",
    "class_of",
    "names",
    "poll_target",
    "registered",
    "windows",
]

#: One line per poll class: its config name -> "module:Class". The order is the order of
#: `poll --once` and of a trap-triggered poll (interfaces before ping, so a link is judged on both).
BUILTIN: dict[str, str] = {
    "snmp": "netmon.pollers.classes.snmp:Snmp",
    "ping": "netmon.pollers.classes.ping:Ping",
    "host_resources": "netmon.pollers.classes.host_resources:HostResources",
    "http": "netmon.pollers.http:HttpCheck",
    "tcp": "netmon.pollers.tcp:TcpCheck",
}

_log = structlog.get_logger("netmon.pollers")
_extra: dict[str, str | type[PollClass]] = {}


class PollClass(Protocol):
    """One kind of poll: what it applies to, how long a target may take, what it gives.

    Class attributes: `name` (the config key under `polling:`), `defaults` (settings a config
    need not give; `interval`, `timeout` and `retries` in seconds/count), `settings_type` (the
    pydantic model of `polling.<name>`) and `sample_kinds` (the `Sample` subclasses it returns).
    An instance is built from the whole `Config` and its own settings.
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]]
    settings_type: ClassVar[type[PollSettings]]
    sample_kinds: ClassVar[tuple[type[Sample], ...]]
    trap_polled: ClassVar[bool]  # polled at once when the device sends linkDown/linkUp/coldStart
    stateful: ClassVar[bool]  # its checks get a state (key (name, device)) through `verdict`
    #: The /metrics paths its families are on ("main", and "interfaces" for /metrics/interfaces).
    metric_paths: ClassVar[frozenset[Literal["main", "interfaces"]]]
    settings: PollSettings

    def __init__(self, config: Config, settings: PollSettings) -> None:
        """Build the class's pollers from the config (no I/O)."""

    async def check(self) -> None:
        """Fail early (PollError) when the class cannot poll at all, e.g. no ICMP socket."""

    async def aclose(self) -> None:
        """Release what the class holds open between polls (sockets, tasks); it polls no more after."""

    def applies(self, target: Target) -> bool:
        """Tell whether this class polls *target*."""

    def deadline(self, target: Target) -> float:
        """Return the most seconds one poll of *target* may take, retries included."""

    def slots(self, concurrency: int) -> int:
        """Return how many targets may be in flight in a round, given `polling.concurrency`."""

    @classmethod
    def freshness(cls, settings: PollSettings) -> timedelta:
        """Return how long a sample of this class counts as current (state engine and exporter alike)."""

    async def poll(self, target: Target) -> list[Sample]:
        """Poll *target* once; return one sample per kind it reached. May raise: `poll_target` handles it."""

    def failed(self, target: Target, status: Status, error: str) -> list[Sample]:
        """Return the samples that stand for a poll of *target* that did not finish."""

    @classmethod
    def verdict(cls, sample: Sample) -> bool | None:
        """Judge a check from the class's current first-kind sample: up (True), down (False), unknown (None)."""

    @classmethod
    def export(cls, view: DeviceView, out: Lines) -> None:
        """Write one device's series of this class's current samples into *out* (`netmon.sinks.exposition`).

        Read samples and states only through *view* (`view.fresh`, `view.newest`, `view.state_of`):
        the exposition keeps what was written until one of those reads answers differently.
        """


#: Longest poll class name: a stateful class's name is an object kind (state_changes.object_kind, 16).
NAME_LIMIT = 16


def names() -> tuple[str, ...]:
    """Return the registered poll class names, built-in first."""
    return (*BUILTIN, *(n for n in _extra if n not in BUILTIN))


def class_of(name: str) -> type[PollClass]:
    """Return the poll class registered as *name*; KeyError when there is none."""
    entry = _extra.get(name) or BUILTIN[name]
    if not isinstance(entry, str):
        return entry
    module, _, attr = entry.partition(":")
    return cast("type[PollClass]", getattr(importlib.import_module(module), attr))


def windows(config: Config) -> dict[str, tuple[str, timedelta, bool]]:
    """Map each registered sample kind to (its poll class, its freshness window, whether it is the class's first).

    The first kind is the one `failed()` gives: its failure means the whole poll failed.
    A kind several classes share (`service`: http and tcp, one class per service) keeps the
    first class's name and the longest of their windows, so no class's samples go stale early.
    """
    found: dict[str, tuple[str, timedelta, bool]] = {}
    for name in names():
        cls = class_of(name)
        for position, kind in enumerate(cls.sample_kinds):
            window = cls.freshness(config.polling.of(name))
            held = found.get(kind.kind)
            if held is not None:
                found[kind.kind] = (held[0], max(held[1], window), held[2])
            else:
                found[kind.kind] = (name, window, position == 0)
    return found


def build(config: Config) -> dict[str, PollClass]:
    """Return one instance of every registered class, with its settings from *config* (no I/O)."""
    return {name: class_of(name)(config, config.polling.of(name)) for name in names()}


@contextmanager
def registered(poll_class: type[PollClass] | str, name: str | None = None) -> Iterator[None]:
    """Register *poll_class* (a class or "module:Class") while the block runs; for tests and plugins.

    A name already built in is replaced for the block (a test's poller that raises, say).
    """
    key = name or cast("type[PollClass]", poll_class).name
    if not 0 < len(key) <= NAME_LIMIT or not key.isidentifier():
        raise ValueError(f"poll class name {key!r}: 1 to {NAME_LIMIT} letters, digits or _ (a config key)")
    before = _extra.get(key)
    _extra[key] = poll_class
    try:
        yield
    finally:
        if before is None:
            _extra.pop(key, None)
        else:
            _extra[key] = before


async def poll_target(poll_class: PollClass, target: Target, *, why: str = "round") -> list[Sample]:
    """Poll *target* with *poll_class* under its deadline; every failure becomes samples, never an exception.

    The deadline is for silence: progress (an SNMP reply) extends it, up to the class's interval.

    *why* (round, trap, once) goes into the log and the timeout message. Raises only
    `asyncio.CancelledError` (a shutdown).
    """
    deadline = poll_class.deadline(target)
    try:
        # every SNMP reply moves the deadline on, up to the class's interval: an 854-interface v1
        # switch that answers all along is not cut off for its size (issue 13); silence is cut at *deadline*
        async with idle_deadline(deadline, max(float(poll_class.settings.interval), deadline)):
            return await poll_class.poll(target)
    except TimeoutError:
        return poll_class.failed(target, Status.TIMEOUT, f"no answer within {deadline:g} s ({why} poll)")
    except Exception as exc:  # noqa: BLE001 (one device's poller bug must not end a round or the daemon)
        _log.exception("poller failed", poll_class=poll_class.name, device=target.device, why=why)
        return poll_class.failed(target, Status.ERROR, f"poller error: {type(exc).__name__}")
