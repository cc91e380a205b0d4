"""The /metrics exposition: kept chunks, freshness, cardinality choices, shards, escaping, and yielding to the loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netmon.config import Config
from netmon.inventory.models import Level, LinkKind, Role
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from netmon.kernel import Status
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import MaintenanceSchedule
from netmon.monitor.rounds import RoundResult
from netmon.pollers.samples import InterfaceRow, InterfacesSample, PingSample, SystemSample
from netmon.sinks.exposition import Exposition, Path
from netmon.sinks.sections import sections
from tests.monitoring import LoopTicks
from tests.prom import promtool_check_metrics

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ODD = 'Gi0/1 "uplink" C:\\path\nnext'  # what an agent may call a port: quotes, backslash, newline
#: Series per exported interface: oper, admin, flapping, speed and six counters (docs/metrics.md).
PER_INTERFACE = 10
INTERFACES: tuple[Path, ...] = ("interfaces",)
MAIN: tuple[Path, ...] = ("main",)


def _inventory(devices: int, ports: int) -> Inventory:
    units = [UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE)]
    made = [
        DeviceSpec(name=f"sw{i}", unit="P", role=Role.SWITCH, address=f"127.0.{i // 250}.{i % 250 + 1}")
        for i in range(devices)
    ]
    links = [LinkSpec(name="p-man", kind=LinkKind.MAN, unit="P", device="sw0", interface="port2")]
    return Inventory(
        units={u.code: u for u in units}, devices={d.name: d for d in made}, links={k.name: k for k in links}
    )


def _live(devices: int = 3, ports: int = 6, **metrics: Any) -> tuple[LiveState, Config]:
    config = Config.model_validate({"metrics": metrics})
    inventory = _inventory(devices, ports)
    return LiveState(config, inventory, MaintenanceSchedule(inventory, ZONE)), config


def _rows(ports: int) -> tuple[InterfaceRow, ...]:
    """Ports 1..N: odd ports admin up, even admin down; port 1 has the odd name; 64-bit counters."""
    return tuple(
        InterfaceRow(
            if_index=i,
            name=ODD if i == 1 else f"port{i}",
            oper_status=1,
            admin_status=1 if i % 2 else 2,
            speed_bps=10**9,
            in_octets=i,
            out_octets=i,
            in_errors=0,
            out_errors=0,
            in_discards=0,
            out_discards=0,
        )
        for i in range(1, ports + 1)
    )


def _feed(live: LiveState, ports: int, ts: datetime = T0, rtt: float = 0.001) -> None:
    for name in live.inventory.devices:
        live.record(
            [
                PingSample(device=name, ts=ts, status=Status.OK, sent=3, received=3, rtt_avg=rtt),
                SystemSample(device=name, ts=ts, status=Status.OK, sys_uptime=100),
                InterfacesSample(device=name, ts=ts, status=Status.OK, interfaces=_rows(ports)),
            ]
        )


def _series(text: str) -> Counter[str]:
    return Counter(s.name for family in text_string_to_metric_families(text) for s in family.samples)


async def _render(exposition: Exposition, *paths: str, now: datetime = T0) -> str:
    return (await exposition.render(paths or ("main",), now=now)).decode()  # type: ignore[arg-type]


def _exposition(live: LiveState, config: Config) -> Exposition:
    return Exposition(lambda: live, sections(), lambda: config.metrics)


@pytest.mark.parametrize(
    ("choice", "interfaces"),
    [
        pytest.param("all", 6, id="all-rows"),
        pytest.param("admin_up", 3, id="admin-up-ports-only"),
        pytest.param("linked", 1, id="only-the-port-a-link-names"),
    ],
)
async def test_the_interface_series_per_device_are_as_documented(choice: str, interfaces: int) -> None:
    live, config = _live(devices=3, ports=6, interfaces=choice)
    _feed(live, 6)
    text = await _render(_exposition(live, config), "interfaces")
    counts = _series(text)
    exported = counts["netmon_interface_oper_up"]
    expected = 3 * interfaces if choice != "linked" else 1  # only sw0 has a link (on port2, admin down)
    assert exported == expected
    assert sum(n for name, n in counts.items() if name.startswith("netmon_interface_")) == PER_INTERFACE * expected
    assert counts["netmon_snmp_walks_cut"] == 3  # one per device, whatever the choice


async def test_the_interfaces_are_on_their_own_path_and_main_has_the_rest() -> None:
    live, config = _live()
    _feed(live, 6)
    exposition = _exposition(live, config)
    main, interfaces = await _render(exposition, "main"), await _render(exposition, "interfaces")
    assert not any(name.startswith("netmon_interface_") for name in _series(main))
    assert set(_series(interfaces)) <= {
        n for n in _series(interfaces) if n.startswith(("netmon_interface_", "netmon_snmp_walks"))
    }
    assert _series(main)["netmon_device_up"] == 3
    both = await _render(exposition, "main", "interfaces")
    assert _series(both) == _series(main) + _series(interfaces)


async def test_an_object_is_rendered_again_only_when_what_it_read_changes() -> None:
    live, config = _live(devices=3, ports=4)
    _feed(live, 4)
    exposition = _exposition(live, config)
    first = await _render(exposition)
    rendered = exposition.renders
    assert await _render(exposition) == first
    assert exposition.renders == rendered  # nothing changed: every object's kept text is served
    later = T0 + timedelta(seconds=30)
    live.record([PingSample(device="sw1", ts=later, status=Status.OK, sent=3, received=3, rtt_avg=0.25)])
    text = await _render(exposition, now=later)
    assert exposition.renders == rendered + 1  # sw1's ping series only
    assert 'netmon_ping_rtt_seconds{device="sw1",level="province",role="switch",unit="P"} 0.25' in text
    assert 'netmon_ping_rtt_seconds{device="sw0",level="province",role="switch",unit="P"} 0.001' in text


async def test_a_state_set_without_a_new_sample_is_exported_at_the_next_scrape() -> None:
    live, config = _live(devices=2, ports=2)
    pings = [PingSample(device=name, ts=T0, status=Status.OK, sent=3, received=3) for name in ("sw0", "sw1")]
    live.record(pings)
    exposition = _exposition(live, config)
    assert _states(await _render(exposition))["sw0"] == [("unknown", 1.0)]  # recorded, not yet concluded
    live.conclude(RoundResult(poll_class="ping", started=T0, duration=0, samples=tuple(pings)), T0)
    assert _states(await _render(exposition))["sw0"] == [("up", 1.0)]


async def test_flapping_that_calms_down_is_exported_without_a_state_change() -> None:
    config = Config.model_validate({"state": {"down_after": 1, "up_after": 1, "flap_changes": 1, "flap_window": 60}})
    inventory = _inventory(1, 2)
    live = LiveState(config, inventory, MaintenanceSchedule(inventory, ZONE))
    exposition = _exposition(live, config)

    def round_at(seconds: int, status: Status) -> datetime:
        ts = T0 + timedelta(seconds=seconds)
        ping = PingSample(device="sw0", ts=ts, status=status, sent=3, received=3 if status is Status.OK else 0)
        live.record([ping])
        live.conclude(RoundResult(poll_class="ping", started=ts, duration=0, samples=(ping,)), ts)
        return ts

    round_at(0, Status.OK)  # unknown -> up
    flapped = round_at(30, Status.TIMEOUT)  # up -> down: two changes in the window, over flap_changes
    text = await _render(exposition, now=flapped)
    assert 'netmon_device_flapping{device="sw0",level="province",role="switch",unit="P"} 1.0' in text
    calm = T0 + timedelta(seconds=200)
    live.conclude(RoundResult(poll_class="ping", started=calm, duration=0, samples=()), calm)  # no sample: still down
    text = await _render(exposition, now=calm)
    assert 'netmon_device_flapping{device="sw0",level="province",role="switch",unit="P"} 0.0' in text


async def test_topology_neighbours_are_rendered_once_per_topology_poll() -> None:
    live, config = _live(devices=2, ports=2)
    counts = {"sw1": 2, "sw0": 1}
    exposition = Exposition(lambda: live, sections(neighbours=lambda: counts), lambda: config.metrics)
    text = await _render(exposition)
    assert 'netmon_topology_neighbours{device="sw0"} 1.0\nnetmon_topology_neighbours{device="sw1"} 2.0\n' in text
    rendered = exposition.renders
    assert await _render(exposition) == text
    assert exposition.renders == rendered  # the same poll's counts: the kept text
    counts = {"sw0": 3}  # the next topology poll replaces the mapping
    assert 'netmon_topology_neighbours{device="sw0"} 3.0\n' in await _render(exposition)
    assert exposition.renders == rendered + 1


def _states(text: str) -> dict[str, list[tuple[str, float]]]:
    """Return (state label, value) of every `netmon_{device,link}_state` series, per object."""
    found: dict[str, list[tuple[str, float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name in {"netmon_device_state", "netmon_link_state"}:
            for s in family.samples:
                found.setdefault(s.labels.get("device") or s.labels["link"], []).append((s.labels["state"], s.value))
    return found


async def test_each_object_has_one_state_series_labelled_with_its_current_state() -> None:
    live, config = _live(devices=2, ports=2)
    exposition = _exposition(live, config)
    assert _states(await _render(exposition)) == {  # nothing observed yet
        "sw0": [("unknown", 1.0)],
        "sw1": [("unknown", 1.0)],
        "p-man": [("unknown", 1.0)],
    }
    pings = [PingSample(device=name, ts=T0, status=Status.OK, sent=3, received=3) for name in ("sw0", "sw1")]
    live.record(pings)
    live.conclude(RoundResult(poll_class="ping", started=T0, duration=0, samples=tuple(pings)), T0)
    states = _states(await _render(exposition))
    assert states["sw0"] == states["sw1"] == [("up", 1.0)]  # the unknown series left: Prometheus marks it stale
    assert len(states["p-man"]) == 1


async def test_series_leave_when_their_sample_is_no_longer_current() -> None:
    live, config = _live(devices=2, ports=2, interfaces="all")
    _feed(live, 2)
    exposition = _exposition(live, config)
    assert _series(await _render(exposition, "interfaces"))["netmon_interface_oper_up"] == 4
    stale = T0 + timedelta(hours=2)  # beyond every class's freshness window; no new sample
    assert _series(await _render(exposition, "interfaces", now=stale))["netmon_interface_oper_up"] == 0
    assert "netmon_ping_rtt_seconds" not in _series(await _render(exposition, now=stale))


async def test_shards_split_the_devices_without_overlap_or_loss() -> None:
    live, config = _live(devices=40, ports=2, interfaces="all")
    _feed(live, 2)
    exposition = _exposition(live, config)
    whole = _series(await _render(exposition, "interfaces"))
    parts = [_series((await exposition.render(INTERFACES, (i, 4), now=T0)).decode()) for i in range(4)]
    assert sum(parts, Counter()) == whole
    assert all(part["netmon_interface_oper_up"] for part in parts)  # 40 devices over 4 shards: none empty


async def test_shards_follow_a_new_inventory_and_a_new_shard_count() -> None:
    # each shard's devices are sifted once and kept: a reload, or other shards, must not serve a stale sift
    small, config = _live(devices=40, ports=2, interfaces="all")
    large, _ = _live(devices=48, ports=2, interfaces="all")
    for live in (small, large):
        _feed(live, 2)
    current = [small]
    exposition = Exposition(lambda: current[0], sections(), lambda: config.metrics)

    async def devices(shards: int) -> list[set[str]]:
        found = []
        for i in range(shards):
            text = (await exposition.render(INTERFACES, (i, shards), now=T0)).decode()
            found.append({s.labels["device"] for f in text_string_to_metric_families(text) for s in f.samples})
        return found

    assert set().union(*await devices(4)) == set(small.inventory.devices)
    current[0] = large
    for shards in (4, 3, 4):
        parts = await devices(shards)
        assert set().union(*parts) == set(large.inventory.devices)
        assert sum(len(part) for part in parts) == len(large.inventory.devices)  # no device in two shards


async def test_interface_shards_are_rendered_one_scrape_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prometheus scrapes many shards at once after its start: each render is made whole, then the next
    from netmon.sinks import exposition as module  # noqa: PLC0415

    monkeypatch.setattr(module, "SLICE", 0.0)  # a render gives the loop back after every object
    live, config = _live(devices=40, ports=2, interfaces="all")
    _feed(live, 2)
    exposition = _exposition(live, config)
    alone = []
    for shard in (0, 1):
        before = exposition.renders
        await exposition.render_parts(INTERFACES, (shard, 2), now=T0)
        alone.append(exposition.renders - before)
    before = exposition.renders
    done: list[int] = []

    async def scrape(shard: int) -> None:
        await exposition.render_parts(INTERFACES, (shard, 2), now=T0)
        done.append(exposition.renders - before)

    await asyncio.gather(scrape(0), scrape(1))
    assert min(alone) > 1  # each shard has objects, each render yields between them
    assert done == [alone[0], alone[0] + alone[1]]  # the second began when the first was done


async def test_odd_label_values_survive_the_text_format_and_promtool() -> None:
    live, config = _live(devices=1, ports=2, interfaces="all")
    _feed(live, 2)
    text = await _render(_exposition(live, config), "main", "interfaces")
    names = {
        s.labels["interface"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "netmon_interface_oper_up"
    }
    assert names == {ODD, "port2"}
    assert await asyncio.to_thread(promtool_check_metrics, text) == (0, "")


async def test_a_big_scrape_gives_the_event_loop_back_while_it_renders() -> None:
    live, config = _live(devices=400, ports=24, interfaces="all")
    _feed(live, 24)
    exposition = _exposition(live, config)
    async with LoopTicks() as ticks:
        text = await _render(exposition, "main", "interfaces")
    assert _series(text)["netmon_interface_oper_up"] == 400 * 24
    assert exposition.yields > 0
    assert ticks.count > 0  # other tasks (the poll rounds, /healthz) ran during the scrape


async def test_the_answer_gives_the_event_loop_back_between_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prometheus on the same host reads as fast as netmon writes: the socket never makes the writer wait
    from netmon.api import http  # noqa: PLC0415

    monkeypatch.setattr(http, "SLICE", 0.0)  # every batch uses up a slice
    parts = [b"x" * 1000] * (4 * http.WRITE_SIZE // 1000)
    async with LoopTicks() as ticks:
        written = [batch async for batch in http._batches(parts)]
    assert b"".join(written) == b"".join(parts)
    assert len(written) == 4
    assert ticks.count >= 3  # the loop ran between the batches, not only after the last


async def test_a_large_scrape_is_served_in_pieces_with_its_length() -> None:
    # 3 MB of exposition pieces: written a batch at a time (netmon.api.http.WRITE_SIZE), never joined whole
    from aiohttp import ClientSession, web  # noqa: PLC0415

    from netmon.api.http import WRITE_SIZE, _exposition_response  # noqa: PLC0415

    parts = [b"# TYPE netmon_x gauge\n", *(f'netmon_x{{device="d{i}"}} {i}\n'.encode() for i in range(100_000))]
    expected = b"".join(parts)
    assert len(expected) > 4 * WRITE_SIZE

    async def handler(_request: web.Request) -> web.Response:
        return _exposition_response(parts)

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ClientSession() as client, client.get(f"http://127.0.0.1:{port}/metrics") as reply:
            body = await reply.read()
            assert reply.headers["Content-Length"] == str(len(expected))
            assert "Transfer-Encoding" not in reply.headers
    finally:
        await runner.cleanup()
    assert body == expected


@pytest.mark.parametrize(
    "value",
    [
        0,
        1,
        7,
        32,
        999_999,
        1_000_000,
        1_234_567,
        2**32 - 1,
        2**53 + 1,
        2**64 - 1,
        -1,
        -5_000_000,
        0.5,
        1e6,
        1.25e7,
        3.3e-7,
        float("inf"),
        float("nan"),
    ],
)
def test_numbers_are_written_as_prometheus_client_writes_them(value: float) -> None:
    from prometheus_client.utils import floatToGoString  # noqa: PLC0415

    from netmon.sinks.exposition import go_number  # noqa: PLC0415

    assert go_number(value) == floatToGoString(value)  # type: ignore[no-untyped-call]


async def test_interface_reads_are_not_kept_with_the_metrics_text() -> None:
    # the interface families are rendered at each scrape: their state reads are never replayed
    live, config = _live(devices=2, ports=24, interfaces="all")
    _feed(live, 24)
    exposition = _exposition(live, config)
    await _render(exposition, "main", "interfaces")
    kept = max(len(k.reads) for k in exposition._kept.values())
    assert kept < 4 * 24  # four entries per interface read, had they been recorded


async def test_each_render_reports_its_paths_and_wall_time() -> None:
    live, config = _live(devices=4, ports=2, interfaces="all")
    _feed(live, 2)
    seen: list[tuple[str, float]] = []
    exposition = Exposition(lambda: live, sections(), lambda: config.metrics, observe=lambda p, s: seen.append((p, s)))
    await exposition.render_parts(MAIN, now=T0)
    await exposition.render_parts(INTERFACES, (0, 2), now=T0)
    await exposition.render_parts(("interfaces", "main"), now=T0)
    assert [path for path, _ in seen] == ["main", "interfaces", "interfaces+main"]
    assert all(seconds > 0 for _, seconds in seen)
