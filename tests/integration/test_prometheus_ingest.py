"""The Prometheus-ingestion benchmark runs end to end at a tiny size (timings reported, never asserted)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.bench import prometheus_ingest
from tests.bench.daemon_lab import processes_naming


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs Debian's prometheus")
def test_tiny_ingest_benchmark_reports_each_job_and_stops_its_prometheus(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    argv = ["--devices", "20", "--shards", "2", "--duration", "7", "--scrape-interval", "1"]
    argv += ["--interfaces-interval", "1", "--workdir", str(tmp_path / "work"), "-o", str(output)]
    argv += ["--pprof", str(tmp_path / "cpu.pprof")]
    assert prometheus_ingest.main(argv) == 0
    result = json.loads(output.read_text(encoding="utf-8"))
    # 20 devices, 6 with 48 ports and 14 with 4, every port exported: 344 ports, split over 2 shards
    assert result["shards"] == 2
    assert result["interfaces"]["series"] > 344
    assert result["interfaces"]["series_per_shard_max"] < result["interfaces"]["series"]
    assert result["main"]["series"] > 20
    scrapes = result["prometheus_scrapes"]
    assert set(scrapes) == {"netmon", "netmon-interfaces"}
    for job in scrapes.values():
        assert job["failed"] == 0
        assert job["first_duration_s"]["count"] >= 1
        assert job["scrapes"] > job["first_duration_s"]["count"]  # later scrapes too
    assert scrapes["netmon-interfaces"]["first_duration_s"]["count"] == 2  # one first scrape per shard job
    firsts = result["first_scrapes"]  # one per target, by start
    assert sorted(first["job"] for first in firsts) == ["netmon", "netmon-interfaces-0", "netmon-interfaces-1"]
    assert [first["start_s"] for first in firsts] == sorted(first["start_s"] for first in firsts)
    assert all(0 <= first["overlapping"] <= 2 for first in firsts)
    assert sum(group["count"] for group in result["first_by_overlap"].values()) == 2
    assert (tmp_path / "cpu.pprof").read_bytes()[:2] == b"\x1f\x8b"  # Prometheus' gzipped pprof profile
    assert result["server_answer_ms"]["count"] >= scrapes["netmon"]["scrapes"] + scrapes["netmon-interfaces"]["scrapes"]
    assert processes_naming(str(tmp_path / "work")) == {}  # Prometheus (its TSDB is in the work folder) stopped
