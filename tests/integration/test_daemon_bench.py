"""The whole-daemon benchmark works end to end at a tiny size, and leaves nothing running.

20 devices on the loopback lab, `netmon run` on SQLite with MQTT on, a real Prometheus scraping
every 3 s for 12 s. The numbers are not judged (never a timing); what is checked is that each
measurement is there and made of real data, that on the lab every poll answers and no device
goes down, and that no process of the run outlives it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.bench import daemon_bench
from tests.bench.daemon_lab import processes_naming

DEVICES = 20


def _processes_naming(text: str) -> list[str]:
    """Return the command lines of running processes that mention *text* (our work folder)."""
    return list(processes_naming(text).values())


def _without_checked_render_times(during: dict[str, Any]) -> dict[str, Any]:
    """Check netmon's own time per scrape over the Prometheus phase (its histogram, per path); return the rest."""
    rest = dict(during)
    render = rest.pop("render_s")
    assert set(render) == {"main", "interfaces"}, render
    for path in render.values():
        assert path["count"] >= 1
        assert 0 < path["mean"] <= path["max_le"]
        assert path["p99_le"] <= path["max_le"]
    return rest


def _check_cpu_profile_and_lab(result: dict[str, Any]) -> None:
    cpu = result["netmon"]["cpu_profile"]  # yappi on the CPU clock, between two SIGUSR1s (cpuprofile.py)
    assert cpu["main_thread_cpu_s"] > 0, cpu
    assert any(row["frame"].split("(")[1].startswith(("netmon/", "asyncio/")) for row in cpu["total"]), cpu
    assert result["lab_agents"]["processes"] >= 1
    assert result["lab_agents"]["nice"] == 10  # the agents stand for remote devices
    assert result["netmon"]["lab_agents_cores_with_scrapes"] >= 0


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus")
def test_tiny_daemon_benchmark_measures_everything_and_stops_everything(tmp_path: Path) -> None:
    work, output = tmp_path / "work", tmp_path / "result.json"
    argv = [
        f"--devices={DEVICES}",
        "--db=sqlite",
        "--lab=loopback",
        "--ping-interval=5",
        "--snmp-interval=10",
        "--scrape-interval=3",
        "--settle=0",
        "--quiet=4",
        "--duration=12",
        "--own-scrapes=1",
        "--api-requests=1",
        "--profile",
        "--profile-seconds=5",
        "--loopwatch",
        "--census",
        "--cpu-profile",
        "--prometheus-restart=12",
        "--no-compare",
        f"--workdir={work}",
        f"--output={output}",
    ]
    assert daemon_bench.main(argv) == 0
    assert _processes_naming(str(work)) == []

    result = json.loads(output.read_text(encoding="utf-8"))
    assert result["mix"] == {"router": 14, "switch": 6}
    assert result["machine_at_start"]["loadavg"]
    netmon = result["netmon"]
    scrape, interfaces = netmon["own_scrapes"]["scrapes"]
    assert (scrape["path"], interfaces["path"]) == ("/metrics", "/metrics/interfaces")
    assert scrape["status"] == interfaces["status"] == 200
    assert scrape["series"] > DEVICES * 5
    assert interfaces["series"] >= DEVICES * 10  # at least one admin-up port a device, 10 series a port
    assert scrape["bytes"] > scrape["series"]
    assert netmon["quiet"]["cores"] is not None
    assert netmon["with_scrapes"]["rss_median_mb"] > 0
    assert netmon["rss_peak_mb"] >= netmon["with_scrapes"]["rss_max_mb"]
    jobs = netmon["prometheus_scrapes"]
    assert jobs["netmon"]["scrapes"] >= 1
    assert jobs["netmon"]["failed"] == jobs["netmon-interfaces"]["failed"] == 0
    assert jobs["netmon"]["samples_scraped_max"] == pytest.approx(scrape["series"], rel=0.1)
    main_job = jobs["netmon"]
    assert main_job["first_duration_s"]["count"] == 1  # one target: its first scrape, then the steady ones
    assert main_job["first_duration_s"]["count"] + main_job["later_duration_s"]["count"] == main_job["scrapes"]
    assert netmon["healthz"]["failed"] == 0
    _check_restart(netmon["after_prometheus_restart"], seconds=12, interval=3)
    assert netmon["healthz"]["outside_scrapes_ms"]["count"] + netmon["healthz"]["during_scrapes_ms"]["count"] > 0
    for path in ("/api/v1/indicators", "/api/v1/outages"):
        assert netmon["api"][path]["status"] == [200]
    counters = netmon["counters"]
    assert set(counters["overruns"]) >= {"poll_class=ping", "poll_class=snmp"}
    assert {key for key in counters["samples"] if not key.endswith("status=ok")} == set()  # every lab poll answers
    assert counters["samples"]["poll_class=snmp,status=ok"] > 0
    assert counters["mqtt"]["netmon_mqtt_published_total"] > 0
    during = _without_checked_render_times(netmon["during_prometheus"])
    assert during["rounds"]["poll_class=ping"] >= 1  # 12 s of 5 s rounds
    assert all(n >= 0 for family in during.values() for n in family.values())
    assert netmon["db"]["false_transitions"] == 0
    assert netmon["db"]["state_changes"]["device:up"]["objects"] == DEVICES
    assert netmon["loopwatch"]["full_gc"]["count"] >= 1  # the watch ran in the daemon: its start settles the heap
    for phase in ("quiet", "with_scrapes"):  # a heap census of the daemon, taken at SIGUSR2 (heapcensus.py)
        census = netmon["heap_census"][phase]
        assert census["head"][0].startswith("rss_mb "), census
        assert any("LiveState" in line or "dict" in line for line in census["head"])
        assert len(census["pymalloc"]) == 2
    _check_cpu_profile_and_lab(result)
    profile = netmon["profile"]
    if os.geteuid() == 0:  # py-spy attaches to a sibling process only with CAP_SYS_PTRACE
        assert profile["samples"] > 0
        assert len(profile["self"]) > 0
    else:
        assert set(profile) & {"error", "samples"}


def _check_restart(again: dict[str, object], *, seconds: int, interval: int) -> None:
    """The phase after Prometheus restarts on its TSDB counts only its own scrapes, and they all succeed.

    Prometheus applies its targets about 5 s after it starts: *seconds* must leave time for a scrape after that.
    """
    jobs = again["prometheus_scrapes"]
    assert isinstance(jobs, dict)
    assert 1 <= jobs["netmon"]["scrapes"] <= seconds // interval + 1  # not the first Prometheus' ones too
    assert jobs["netmon"]["failed"] == 0
    assert again["healthz"]["failed"] == 0  # type: ignore[index]
