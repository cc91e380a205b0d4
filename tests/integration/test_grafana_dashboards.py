"""netmon's Grafana dashboards: generated, portable, and every query parsed by a real Prometheus."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.prom import (
    DASHBOARDS_DIR,
    GRAFANA_BUILTINS,
    ROOT,
    RULE_FILES,
    RunningPrometheus,
    load_dashboards,
    panel_queries,
    running_prometheus,
    variable_names,
    variable_queries,
)

DS_BY_VARIABLE = {"type": "prometheus", "uid": "${datasource}"}
DASHBOARDS = load_dashboards()
#: Series that Prometheus makes itself.
PROMETHEUS_OWN = {"up", "ALERTS", "scrape_duration_seconds", "scrape_samples_scraped"}


def build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("netmon_grafana_build", ROOT / "grafana" / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contract_metrics() -> set[str]:
    """Metric names of docs/metrics.md (histograms with their series) and of the recording rules."""
    names: set[str] = set()
    for line in (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`(netmon_\w+)`\s*\|\s*(\w+)", line)
        if match:
            name, kind = match.groups()
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a query: netmon_* and recording rule names, and Prometheus' own series."""
    names = set(re.findall(r"\b(?:netmon_\w+|\w+:\w+:\w+)\b", expr))
    names |= {name for name in PROMETHEUS_OWN if re.search(rf"\b{name}\s*\{{", expr)}
    return names


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


# ---- the files ------------------------------------------------------------------------------------


def test_the_committed_json_is_the_generator_output():
    built = build_module().build_all()
    assert sorted(built) == sorted(path.name for path in DASHBOARDS_DIR.glob("*.json"))
    for name, text in built.items():
        assert (DASHBOARDS_DIR / name).read_text(encoding="utf-8") == text, f"{name}: run grafana/build.py"


def test_there_are_the_five_dashboards():
    assert {board["uid"] for board in DASHBOARDS.values()} == {
        "netmon-overview",
        "netmon-links",
        "netmon-unit",
        "netmon-devices",
        "netmon-poller",
    }


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_basics(name):
    board = DASHBOARDS[name]
    assert board["schemaVersion"] >= 39
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_panel_and_query_uses_the_datasource_variable(name):
    board = DASHBOARDS[name]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DS_BY_VARIABLE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DS_BY_VARIABLE, panel["title"]
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DS_BY_VARIABLE, variable["name"]
    # No data source uid of some installation anywhere: only the variable and Grafana's own.
    uids = {value for key, value in walk(board) if key == "uid" and value != board["uid"]}
    assert uids <= {"${datasource}", "-- Grafana --"}


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_variable_resolves(name):
    board = DASHBOARDS[name]
    defined: set[str] = set()
    for variable in board["templating"]["list"]:
        query = variable.get("query", "")
        text = query["query"] if isinstance(query, dict) else query
        # A variable's query may use only the variables defined before it.
        assert variable_names(text) <= defined | GRAFANA_BUILTINS, variable["name"]
        defined.add(variable["name"])
    for panel in panels(board):
        used = variable_names(panel["title"])
        for target in panel.get("targets", []):
            used |= variable_names(target["expr"])
        assert used <= defined | GRAFANA_BUILTINS, panel["title"]
        if "repeat" in panel:
            assert panel["repeat"] in defined


def test_every_query_reads_documented_metrics_or_recording_rules():
    known = contract_metrics() | PROMETHEUS_OWN
    for query in panel_queries() + variable_queries():
        names = metric_names(query.expr)
        assert names, f"{query.dashboard} › {query.panel}: no metric in {query.expr}"
        assert names <= known, f"{query.dashboard} › {query.panel}: unknown {names - known}"


def test_the_rules_read_documented_metrics_only():
    known = contract_metrics() | PROMETHEUS_OWN
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                assert metric_names(rule["expr"]) <= known, rule.get("alert") or rule.get("record")


# ---- every query parses ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """An empty Prometheus with netmon's rules loaded: a query that does not parse gets HTTP 400."""
    with running_prometheus(tmp_path_factory.mktemp("prometheus"), rule_files=RULE_FILES) as prom:
        yield prom


ALL_QUERIES = panel_queries() + variable_queries()


@pytest.mark.parametrize(
    "query", ALL_QUERIES, ids=[f"{q.dashboard.removesuffix('.json')}:{q.panel}:{q.ref}" for q in ALL_QUERIES]
)
def test_query_parses(prometheus, query):
    status, answer = prometheus.get("/api/v1/query", {"query": query.promql})
    assert status == 200, f"{query.promql}\n{answer}"
    assert answer["status"] == "success"


def test_a_bad_query_is_caught(prometheus):
    status, answer = prometheus.get("/api/v1/query", {"query": "sum by (unit (netmon_device_up)"})
    assert status == 400
    assert answer["errorType"] == "bad_data"


def test_the_rules_are_loaded(prometheus):
    status, answer = prometheus.get("/api/v1/rules")
    assert status == 200
    names = {rule["name"] for group in answer["data"]["groups"] for rule in group["rules"]}
    assert {"NetmonUnitIsolated", "level_service:netmon_unit_coverage:ratio"} <= names


def test_provisioning_uses_the_environment_and_a_fixed_uid():
    source = yaml.safe_load((ROOT / "grafana/provisioning/datasources/netmon.yml").read_text(encoding="utf-8"))
    (datasource,) = source["datasources"]
    assert datasource["uid"] == "netmon-prometheus"
    assert datasource["url"] == "${PROMETHEUS_URL}"
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/netmon.yml").read_text(encoding="utf-8"))
    (files,) = provider["providers"]
    assert files["type"] == "file"
    assert Path(files["options"]["path"]).name in {"dashboards", "${NETMON_GRAFANA_DASHBOARDS}"}
