"""A real Prometheus on loopback for tests, and the panel queries of netmon's dashboards.

Reusable by the end-to-end test against `netmon run`::

    with running_prometheus(tmp_path, targets=["127.0.0.1:9105"], rule_files=RULE_FILES) as prom:
        prom.wait_for('up{job="netmon"} == 1', timeout=30)
        for query in panel_queries():
            assert prom.query(query.promql)["status"] == "success"

Every process started here is stopped on exit; every wait has a deadline.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_tcp_port

__all__ = [
    "DASHBOARDS_DIR",
    "GRAFANA_BUILTINS",
    "PROMETHEUS_DIR",
    "ROOT",
    "RULE_FILES",
    "SAMPLE_VALUES",
    "PanelQuery",
    "PrometheusError",
    "RunningPrometheus",
    "free_tcp_port",
    "load_dashboards",
    "panel_queries",
    "running_prometheus",
    "substitute",
    "variable_names",
    "variable_queries",
]

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS_DIR = ROOT / "config" / "prometheus"
RULE_FILES = tuple(sorted((PROMETHEUS_DIR / "rules").glob("*.yml")))
DASHBOARDS_DIR = ROOT / "grafana" / "dashboards"

#: Grafana's own variables that a query may use without defining them.
GRAFANA_BUILTINS = frozenset(
    {
        "__rate_interval",
        "__interval",
        "__interval_ms",
        "__range",
        "__range_s",
        "__range_ms",
        "__from",
        "__to",
        "__dashboard",
        "__org",
        "__user",
    }
)
#: Literal values that stand for the dashboards' variables in queries sent to Prometheus.
SAMPLE_VALUES: Mapping[str, str] = {
    "datasource": "netmon-prometheus",
    "level": "province",
    "unit": "SL",
    "kind": "lan",
    "role": "router",
    "device": "sl-ubnd-core-r1",
    "poll_class": "ping",
    "__rate_interval": "1m",
    "__interval": "30s",
    "__interval_ms": "30000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__from": "0",
    "__to": "3600000",
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w:]+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\s*\)\s*$", re.DOTALL)


class PrometheusError(RuntimeError):
    """Prometheus did not start, or did not become ready in time."""


def variable_names(text: str) -> set[str]:
    """Return the Grafana variables ($x, ${x}, ${x:fmt}, [[x]]) that *text* refers to."""
    return {next(g for g in match.groups() if g) for match in _VARIABLE.finditer(text)}


def substitute(text: str, values: Mapping[str, str] = SAMPLE_VALUES) -> str:
    """Replace every Grafana variable in *text* by its value in *values* (KeyError if missing)."""
    return _VARIABLE.sub(lambda match: values[next(g for g in match.groups() if g)], text)


@dataclass(frozen=True, kw_only=True)
class PanelQuery:
    """One query of a dashboard: a panel target, or what a query variable selects."""

    dashboard: str
    panel: str
    ref: str
    expr: str

    @property
    def promql(self) -> str:
        """Return the query with the variables replaced by SAMPLE_VALUES, ready for Prometheus."""
        return substitute(self.expr)


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> dict[str, dict[str, Any]]:
    """Return every dashboard JSON of *directory* by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))}


def _panels(panels: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def panel_queries(directory: Path = DASHBOARDS_DIR) -> list[PanelQuery]:
    """Return every `targets[].expr` of every panel (rows' nested panels included)."""
    return [
        PanelQuery(dashboard=name, panel=panel.get("title", ""), ref=target.get("refId", ""), expr=target["expr"])
        for name, board in load_dashboards(directory).items()
        for panel in _panels(board.get("panels", []))
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def variable_queries(directory: Path = DASHBOARDS_DIR) -> list[PanelQuery]:
    """Return the PromQL selector of every `label_values(selector, label)` query variable."""
    found = []
    for name, board in load_dashboards(directory).items():
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            match = _LABEL_VALUES.match(text)
            if match is None:
                raise ValueError(f"{name}: variable {variable['name']}: not a label_values() query: {text}")
            if match["selector"]:
                found.append(
                    PanelQuery(dashboard=name, panel=f"${variable['name']}", ref="var", expr=match["selector"])
                )
    return found


@dataclass(frozen=True)
class RunningPrometheus:
    """A Prometheus started by running_prometheus(), with a small HTTP API client."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, params: Mapping[str, str] | None = None, *, timeout: float = 10.0) -> tuple[int, Any]:
        """GET an API path; return the HTTP status and the decoded JSON body (errors included)."""
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our loopback URL)
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            return exc.code, json.loads(body) if body.startswith(b"{") else body.decode(errors="replace")

    def query(self, expr: str, *, timeout: float = 10.0) -> Any:
        """Run an instant query; return Prometheus' JSON answer (status "error" on a bad query)."""
        return self.get("/api/v1/query", {"query": expr}, timeout=timeout)[1]

    def wait_for(self, expr: str, *, timeout: float = 30.0) -> list[Any]:
        """Poll an instant query until it returns samples; return them (PrometheusError at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.query(expr)
            if answer.get("status") == "success" and answer["data"]["result"]:
                result: list[Any] = answer["data"]["result"]
                return result
            if time.monotonic() > deadline:
                raise PrometheusError(f"no result for {expr!r} within {timeout} s: {answer}")
            _pause(self.process, 0.2)

    def log_tail(self, lines: int = 20) -> str:
        """Return the last lines of Prometheus' log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _pause(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait up to *seconds* between two polls, returning at once if *process* has exited."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return


def _config(
    targets: Sequence[str],
    rule_files: Sequence[Path],
    scrape_interval: str,
    evaluation_interval: str,
    scrape: Mapping[str, Any] | None = None,
    *,
    jobs: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": [str(path.resolve()) for path in rule_files],
        "scrape_configs": [],
    }
    if targets:  # as config/prometheus/prometheus.yml: /metrics, and the interfaces on their own path
        own = {name: dict(keys) for name, keys in (jobs or {}).items()}
        interfaces = own.get("netmon-interfaces", {})
        shards = int(interfaces.pop("shards", 1))
        made: list[tuple[str, str, dict[str, Any]]] = [("netmon", "/metrics", own.get("netmon", {}))]
        if shards == 1:
            made.append(("netmon-interfaces", "/metrics/interfaces", interfaces))
        for shard in range(shards if shards > 1 else 0):  # one job per shard, as docs/metrics.md shows
            params = {"params": {"shard": [str(shard)], "shards": [str(shards)]}}
            made.append((f"netmon-interfaces-{shard}", "/metrics/interfaces", {**interfaces, **params}))
        for job, path, keys in made:
            config["scrape_configs"].append(
                {
                    "job_name": job,
                    "metrics_path": path,
                    "honor_labels": True,
                    "static_configs": [{"targets": list(targets)}],
                    **(scrape or {}),
                    **keys,
                }
            )
    return yaml.safe_dump(config, sort_keys=False)


def promtool_check_metrics(text: str) -> tuple[int, str]:
    """Return (exit code, output) of `promtool check metrics` on an exposition text: (0, "") when clean."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: make test installs Debian's prometheus package"
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30, check=False
    )
    return lint.returncode, lint.stdout + lint.stderr


@contextmanager
def running_prometheus(
    workdir: Path,
    *,
    targets: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    startup_timeout: float = 30.0,
    scrape: Mapping[str, Any] | None = None,
    jobs: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[RunningPrometheus]:
    """Run Prometheus on a free 127.0.0.1 port: *targets* in jobs netmon and netmon-interfaces, with *rule_files*.

    *scrape* adds keys to both jobs' scrape_config, e.g. `scheme`, `basic_auth`, `tls_config`; *jobs*
    adds keys to one job's, e.g. `{"netmon-interfaces": {"scrape_interval": "60s", "shards": 16}}` (with
    `shards`, one job `netmon-interfaces-I` per shard I).
    """
    binary = shutil.which("prometheus")
    if binary is None:
        raise PrometheusError("prometheus is not installed (scripts/ensure-system.sh prometheus)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        _config(targets, rule_files, scrape_interval, evaluation_interval, scrape, jobs=jobs), encoding="utf-8"
    )
    port = free_tcp_port()
    log = workdir / "prometheus.log"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    running = RunningPrometheus(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        _wait_ready(running, startup_timeout)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_ready(prom: RunningPrometheus, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if prom.process.poll() is not None:
            raise PrometheusError(f"prometheus exited with {prom.process.returncode}:\n{prom.log_tail()}")
        try:
            with urllib.request.urlopen(f"{prom.url}/-/ready", timeout=1) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise PrometheusError(f"prometheus not ready within {timeout} s:\n{prom.log_tail()}")
        _pause(prom.process, 0.1)
