"""The /metrics exposition at 10,000 devices: each object's lines rendered once, kept, and joined per scrape.

prometheus_client builds a `Metric` object per family and formats every sample again at every
scrape: about 10 µs per series, 5 to 12 CPU-s per scrape at 10k devices, on the event loop (issue
12). Here each object (device, link, service, unit) is rendered by a *section* into text chunks,
one per family, with prometheus_client's text format (labels sorted, `floatToGoString` values,
counters suffixed `_total`, so rules and dashboards read the same series). The chunk is kept with
what the renderer *read*: the samples it got through the one freshness rule
(`netmon.monitor.latest`) and the (state, flapping) of the objects it asked about. At the next
scrape those reads are replayed; when they give the same answers the kept chunk is served as is.
A poll every 60 s therefore costs one render per device per minute, whatever the scrape rate, and
a scrape is mostly a replay of reads and a join. Only the text of /metrics is kept (`KEPT`); the
interface families are rendered at each scrape of /metrics/interfaces, which is sharded and
scraped about once per SNMP round, so that memory does not grow with the ports.

`Exposition.render()` is a coroutine that yields to the event loop every `SLICE` seconds of work,
so polling never waits a whole scrape (the scrape reads the live view, which only the loop
mutates; each object is read whole within one slice).

Text format: https://prometheus.io/docs/instrumenting/exposition_formats/ (version 0.0.4).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, cast

from prometheus_client.utils import floatToGoString

from netmon.kernel import Sample, utcnow
from netmon.monitor.state import State

if TYPE_CHECKING:
    from netmon.config import MetricsConfig
    from netmon.monitor.live import LiveState

__all__ = [
    "DEVICE_LABELS",
    "SLICE",
    "DeviceView",
    "Exposition",
    "Family",
    "Lines",
    "Section",
    "go_number",
    "label_pair",
    "label_text",
]

#: The labels of every per-device series, in `DeviceView.labels` order.
DEVICE_LABELS = ("device", "unit", "level", "role")
#: The paths whose text is kept between scrapes. The interface families are not: they are most of
#: the text (about 120 bytes a series, 1.7 million series at 10k devices with 30 % 48-port switches),
#: their samples change at every SNMP round, and their path is scraped about as often as that; so
#: they are rendered at each scrape of /metrics/interfaces (1 to 2 µs a series) and never held.
KEPT: frozenset[Path] = frozenset(("main",))
#: The longest stretch (seconds) a scrape runs on the event loop before it yields (see `pollers.share.SHARE`).
SLICE = 0.005
#: A family's path: "main" is /metrics, "interfaces" is /metrics/interfaces (when split).
Path = Literal["main", "interfaces"]

_FAST: dict[float, str] = {0: "0.0", 1: "1.0"}  # also 0.0, 1.0, False and True: equal keys


_MAIN: tuple[Path, ...] = ("main",)
_go_float = cast("Callable[[float], str]", floatToGoString)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def label_pair(name: str, value: str) -> str:
    """Return `name="value"`, the value escaped: `label_text` of one label, without its sorting."""
    return f'{name}="{_escape(value)}"'


def go_number(value: float) -> str:
    """Return *value* as the text format writes it (prometheus_client's `floatToGoString`), ints below 10**6 fast."""
    if type(value) is int and 0 <= value < 1_000_000:  # repr(float(n)) is "n.0"; Go keeps it so below 1e6
        return f"{value}.0"
    return _go_float(value)


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """Return `name="value",...` in name order, values escaped (backslash, newline, double quote)."""
    pairs = sorted(zip(names, values, strict=True))
    return ",".join(f'{name}="{_escape(value)}"' for name, value in pairs)


class Family:
    """One metric family: *name* as exported (counters get `_total` in the text), help text, type, path.

    Families are module constants and compare by identity (a scrape hashes them per object).
    """

    __slots__ = ("doc", "header", "kind", "name", "path", "prefix", "sample_name")

    def __init__(self, name: str, doc: str, kind: Literal["gauge", "counter"] = "gauge", path: Path = "main") -> None:
        self.name, self.doc, self.kind, self.path = name, doc, kind, path
        #: The series name in the text: counters end in `_total`.
        self.sample_name = f"{name}_total" if kind == "counter" else name
        self.prefix = self.sample_name + "{"
        help_text = doc.replace("\\", r"\\").replace("\n", r"\n")
        #: The `# HELP` and `# TYPE` lines, UTF-8.
        self.header = f"# HELP {self.sample_name} {help_text}\n# TYPE {self.sample_name} {kind}\n".encode()

    def __repr__(self) -> str:
        return f"Family({self.sample_name!r}, {self.kind}, {self.path})"


#: An object's text per family, flat: (family, UTF-8 text, family, text, ...). One tuple, not one per
#: family: 70,000 objects are kept at 10k devices.
Chunks = tuple["Family | bytes", ...]


def _path(family: Family | bytes) -> Path:
    return cast("Family", family).path


class Lines:
    """The series one object writes: `add(family, labels, value)`, kept as text per family."""

    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out: dict[Family, list[str]] = {}

    def add(self, family: Family, labels: str, value: float) -> None:
        """Add one series; *labels* is `label_text()` output (or "" for none)."""
        text = _FAST.get(value) or _go_float(value)
        lines = self._out.get(family)
        if lines is None:
            lines = self._out[family] = []
        lines.append(f"{family.prefix}{labels}}} {text}\n" if labels else f"{family.sample_name} {text}\n")

    def lines(self, family: Family) -> list[str]:
        """Return the list of *family*'s lines, to append whole lines to (`prefix`, labels, `} `, value, newline).

        For renderers that write many series of a few families (the interfaces): one append a
        series instead of a call to `add`. A family left without lines is not written.
        """
        lines = self._out.get(family)
        if lines is None:
            lines = self._out[family] = []
        return lines

    def chunks(self) -> Chunks:
        """Return each family and its text (UTF-8), flat (`Chunks`), in the order families were first written."""
        out: list[Family | bytes] = []
        for family, lines in self._out.items():
            if lines:
                out += (family, "".join(lines).encode())
        return tuple(out)


@dataclass
class DeviceView:
    """What a renderer reads of one object at one scrape, recorded so that the next scrape can replay it.

    *name* is the object (a device, link, service or unit); *labels* its standard label values.
    Samples are compared by identity (they are immutable), states by (state, flapping).
    """

    live: LiveState
    now: datetime
    name: str
    labels: tuple[str, ...] = ()
    settings: MetricsConfig | None = None
    #: The device's interfaces that an inventory link names (`metrics.interfaces: linked`).
    linked: frozenset[str] = frozenset()
    #: The paths this scrape serves: a renderer may skip families on other paths.
    paths: Collection[Path] = _MAIN
    #: The reads, flat: (how, first, second, answer) four items at a time (`_still` replays them).
    reads: list[object] = field(default_factory=list)

    def fresh(self, kind: str, device: str | None = None) -> Sample | None:
        """Return the device's current sample of *kind* (`LatestSamples.fresh`)."""
        sample = self.live.samples.fresh(device or self.name, kind, self.now)
        self.reads += (0, device or self.name, kind, sample)
        return sample

    def newest(self, kind: str) -> Sample | None:
        """Return the device's newest sample of *kind*, current or not."""
        sample = self.live.samples.newest(self.name, kind)
        self.reads += (1, self.name, kind, sample)
        return sample

    def state_of(self, kind: str, name: str) -> tuple[str, bool]:
        """Return (state value, flapping) of the state engine's memory of (kind, name)."""
        answer = _state(self.live, kind, name)
        self.reads += (2, kind, name, answer)
        return answer

    def state_unrecorded(self, kind: str, name: str) -> tuple[str, bool]:
        """Return what `state_of` does, without recording the read: for families on paths not `KEPT`.

        Their text is rendered at each scrape and never replayed, so its reads need no record;
        recorded, they were kept with the object's /metrics text and replayed at every scrape of
        /metrics (four entries per interface: 192 for a 48-port switch).
        """
        return _state(self.live, kind, name)


_UNKNOWN = ("unknown", False)


def _state(live: LiveState, kind: str, name: str) -> tuple[str, bool]:
    """Return (state value, flapping) of (kind, name), ("unknown", False) for an object the engine lacks."""
    memory = live.engine.objects.get((kind, name))
    if memory is None:
        return _UNKNOWN
    return _ANSWERS[memory.flapping][memory.state]


#: The (state value, flapping) answers, made once: a kept read holds one of these, not a tuple of its own.
_ANSWERS = {flapping: {state: (state.value, flapping) for state in State} for flapping in (False, True)}


def _still(reads: Sequence[object], live: LiveState, now: datetime) -> bool:
    """Tell whether every recorded read (flat, four items each: `DeviceView.reads`) gives the same answer now."""
    samples = live.samples
    for at in range(0, len(reads), 4):
        how, answer = reads[at], reads[at + 3]
        first, second = cast("str", reads[at + 1]), cast("str", reads[at + 2])
        if how == 0:
            if samples.fresh(first, second, now) is not answer:
                return False
        elif how == 1:
            if samples.newest(first, second) is not answer:
                return False
        elif _state(live, first, second) != answer:
            return False
    return True


class Section(Protocol):
    """A kind of object in the exposition: which objects, their labels, and how one is rendered."""

    name: str
    #: The paths this section's families are on (a scrape of another path skips the section).
    paths: frozenset[Path]

    def objects(self, live: LiveState) -> Iterable[tuple[str, tuple[str, ...]]]:
        """Yield (object name, label values) of every object to export."""
        ...

    def render(self, view: DeviceView, out: Lines) -> None:
        """Write the object's series into *out*, reading only through *view*."""
        ...


@dataclass(slots=True)
class _Kept:
    reads: tuple[object, ...]
    chunks: Chunks
    stamp: object = None


class Exposition:
    """Renders the sections' families for a path, keeping each object's chunks until what it read changes.

    *live* returns the current live view and *settings* the `metrics` config; a new inventory or
    new settings (a reload) drop every kept chunk. *observe*, when given, is called after every
    render with the paths rendered ("main", "interfaces", or both joined by "+") and its wall time
    in seconds, from the call (a shard's wait for the render before it included) to the text ready.
    """

    def __init__(
        self,
        live: Callable[[], LiveState],
        sections: Sequence[Section],
        settings: Callable[[], MetricsConfig | None] = lambda: None,
        *,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._live = live
        self._observe = observe
        self._sections = list(sections)
        self._get_settings = settings
        self._settings: MetricsConfig | None = None
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._linked: dict[str, frozenset[str]] = {}
        self._inventory: object = None
        #: Per (section, shard): the section's rows as `objects` gave them, and those in the shard.
        #: For one shard count at a time (Prometheus' jobs use one); a reload empties it.
        self._sharded: dict[tuple[str, int], tuple[object, list[tuple[str, tuple[str, ...]]]]] = {}
        self._shards = 0
        self.renders = 0  #: objects rendered since start (a miss of the kept chunks)
        self._unkept = asyncio.Lock()  # renders of paths not kept, one at a time (`render_parts`)
        self.yields = 0  #: times a scrape gave the event loop back

    async def render(
        self, paths: Collection[Path] = _MAIN, shard: tuple[int, int] | None = None, *, now: datetime | None = None
    ) -> bytes:
        """Return the text (UTF-8) of every family on *paths*; *shard* = (i, n) keeps objects whose crc32 % n == i.

        The joined `render_parts`; see there.
        """
        return b"".join(await self.render_parts(paths, shard, now=now))

    async def render_parts(
        self, paths: Collection[Path] = _MAIN, shard: tuple[int, int] | None = None, *, now: datetime | None = None
    ) -> list[bytes]:
        """Return the text (UTF-8) of every family on *paths* as pieces in order, to be written one after another.

        A scrape of 100,000 series is ~11 MB: written piece by piece (`netmon.api.http`) it is never
        joined into one buffer, nor copied whole into the socket's. *shard* = (i, n) keeps objects
        whose crc32 % n == i. Yields to the event loop after every `SLICE` seconds of work. *now*
        (aware UTC, default the current time) is the instant the freshness rule judges samples at.
        Renders of paths that are not kept (`KEPT`) run one at a time, in the order they came.
        """
        started = time.perf_counter()
        if frozenset(paths) <= KEPT:
            parts = await self._render_parts(paths, shard, now)
        else:
            # Paths that are not kept (the interface shards) are rendered one scrape at a time. Their
            # text is made anew at each scrape (3 MB a shard at 10k devices) and held until written;
            # Prometheus scrapes many shards at once after its start, and renders that take turns
            # with each other in `SLICE`s all finish late and hold their text together.
            async with self._unkept:
                parts = await self._render_parts(paths, shard, now)
        if self._observe is not None:
            self._observe("+".join(sorted(set(paths))), time.perf_counter() - started)
        return parts

    async def _render_parts(
        self, paths: Collection[Path], shard: tuple[int, int] | None, now: datetime | None
    ) -> list[bytes]:
        live, settings = self._live(), self._get_settings()
        if live.inventory is not self._inventory or settings != self._settings:
            self._settings = settings
            self._kept.clear()
            self._sharded.clear()
            self._inventory = live.inventory
            self._linked = _linked(live)
        now = now or utcnow()
        parts: dict[Family, list[bytes]] = {}
        started = time.perf_counter()
        unkept = frozenset(paths) - KEPT
        for section in self._sections:
            if section.paths.isdisjoint(paths):
                continue
            again = not section.paths.isdisjoint(unkept)  # its families there are not kept: render now
            stamp = section.stamp() if hasattr(section, "stamp") else None
            rows = section.objects(live) if shard is None else self._in_shard(section, live, shard)
            for name, labels in rows:
                got = self._get(section, live, now, (name, labels), paths, again=again, stamp=stamp)
                if got:  # most objects of a poll class that a device lacks export nothing
                    chunks = iter(got)
                    for family, text in cast("Iterator[tuple[Family, bytes]]", zip(chunks, chunks, strict=True)):
                        if family.path in paths:
                            parts.setdefault(family, []).append(text)
                if time.perf_counter() - started > SLICE:
                    await asyncio.sleep(0)
                    self.yields += 1
                    if self._live() is not live:  # reloaded meanwhile: start again on the new view
                        return await self._render_parts(paths, shard, now)
                    started = time.perf_counter()
        await asyncio.sleep(0)  # the last slice, then the pieces' list (70,000 at 10k) and the answer: two steps
        self.yields += 1
        return list(_families(parts))

    def _in_shard(self, section: Section, live: LiveState, shard: tuple[int, int]) -> list[tuple[str, tuple[str, ...]]]:
        """Return the section's objects whose crc32 of the name % shards == shard: sifted once per rows object.

        A section's `objects` gives the same list while the inventory stays (`sections._Memo`): the
        sift is kept with it, so that a shard's scrape visits its own devices only, not all of them.
        """
        index, count = shard
        if count != self._shards:
            self._sharded.clear()
            self._shards = count
        rows = section.objects(live)
        kept = self._sharded.get((section.name, index))
        if kept is not None and kept[0] is rows:
            return kept[1]
        sifted = [row for row in rows if zlib.crc32(row[0].encode()) % count == index]
        self._sharded[section.name, index] = (rows, sifted)
        return sifted

    def _get(
        self,
        section: Section,
        live: LiveState,
        now: datetime,
        item: tuple[str, tuple[str, ...]],
        paths: Collection[Path],
        *,
        again: bool,
        stamp: object,
    ) -> Chunks:
        """Return the object's chunks: the kept ones while its reads hold, else (or when *again*) rendered now.

        What is kept is the text of the `KEPT` paths and the reads made for it, with the section's
        *stamp*; a render *again* for another path replaces it only when it no longer holds.
        """
        name, labels = item
        key = (section.name, name)
        kept = self._kept.get(key)
        holds = kept is not None and kept.stamp is stamp and _still(kept.reads, live, now)
        if holds and not again:
            return kept.chunks  # type: ignore[union-attr]
        view = DeviceView(live, now, name, labels, self._settings, self._linked.get(name, frozenset()), paths)
        out = Lines()
        section.render(view, out)
        chunks = out.chunks()
        self.renders += 1
        if not holds:
            keep = [x for at in range(0, len(chunks), 2) if _path(chunks[at]) in KEPT for x in chunks[at : at + 2]]
            self._kept[key] = _Kept(tuple(view.reads), tuple(keep), stamp)
        return chunks


def _linked(live: LiveState) -> dict[str, frozenset[str]]:
    """Return, per device, the interface names that an inventory link names."""
    named: dict[str, set[str]] = {}
    for link in live.inventory.links.values():
        if link.device and link.interface:
            named.setdefault(link.device, set()).add(link.interface)
    return {device: frozenset(names) for device, names in named.items()}


def _families(parts: dict[Family, list[bytes]]) -> Iterator[bytes]:
    for family, texts in parts.items():
        yield family.header
        yield from texts
