"""The Prometheus and Alertmanager configs, checked by the real promtool and amtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.prom import PROMETHEUS_DIR, ROOT, RULE_FILES

ALERTMANAGER_CONFIG = ROOT / "config" / "alertmanager.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERT_RULES = PROMETHEUS_DIR / "rules" / "netmon-alerts.yml"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (make test installs it: scripts/ensure-system.sh)")
    return path


def run(*command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT)


def test_promtool_check_config():
    result = run(tool("promtool"), "check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout + result.stderr


def test_promtool_check_rules():
    result = run(tool("promtool"), "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules():
    result = run(tool("promtool"), "test", "rules", *map(str, RULE_TESTS), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: f"{rule['alert']}-{rule['labels']['severity']}")
def test_every_alert_is_bilingual_with_a_runbook_and_a_severity(rule):
    annotations = rule["annotations"]
    assert {"summary", "summary_vi", "description", "description_vi", "runbook"} <= annotations.keys()
    # The Vietnamese texts are Vietnamese (they carry its diacritics), not copies of the English.
    for key in ("summary_vi", "description_vi"):
        assert re.search(r"[ăâđêôơưạảấầẩậắằẳặẹẻẽếềểễệịỉọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", annotations[key].lower()), key
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}


def test_every_alert_is_unit_tested_firing_and_quiet():
    names = {rule["alert"] for rule in alerts()}
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert names - fired == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"


def test_amtool_check_config():
    result = run(tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        pytest.param(
            ["alertname=NetmonDeviceDown", "severity=warning", "unit=SL-H01-X01"],
            "district-sl-h01,noc-tickets",
            id="ward-goes-to-its-district-too",
        ),
        pytest.param(
            ["alertname=NetmonDeviceDown", "severity=warning", "unit=SL-LG"],
            "district-sl-h01,noc-tickets",
            id="two-tier-commune-goes-to-its-area-staff",
        ),
        pytest.param(
            ["alertname=NetmonDeviceDown", "severity=warning", "unit=SL-H011"],
            "noc-tickets",
            id="prefix-not-a-district",
        ),
        pytest.param(
            ["alertname=NetmonLinkDown", "severity=critical", "unit=SL", "kind=tslcd"], "noc-pager", id="critical-pages"
        ),
        pytest.param(
            ["alertname=NetmonVcEndpointDown", "severity=critical", "unit=SL-VPUB"], "vc-team,noc-pager", id="vc-team"
        ),
        pytest.param(["alertname=NetmonAbsent", "severity=critical", "job=netmon"], "noc-pager", id="netmon-blind"),
        pytest.param(
            ["alertname=NetmonInterfaceFlapping", "severity=info", "unit=SL-STC"], "noc-tickets", id="info-ticket"
        ),
    ],
)
def test_alertmanager_routes(labels, receivers):
    result = run(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receivers


def test_inhibitions_mirror_the_dependency_logic():
    rules = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))["inhibit_rules"]
    by_source = {tuple(rule["source_matchers"]): rule for rule in rules}
    isolated = by_source[('alertname="NetmonUnitIsolated"',)]
    uplink = by_source[('alertname="NetmonLinkDown"', 'kind=~"wan|man|tslcd"')]
    for rule in (isolated, uplink):
        assert rule["equal"] == ["unit"]
        assert any("NetmonDeviceDown" in matcher for matcher in rule["target_matchers"])
    # Every alert name an inhibit rule names exists.
    names = {rule["alert"] for rule in alerts()}
    mentioned = {
        name
        for rule in rules
        for matcher in rule["source_matchers"] + rule["target_matchers"]
        if matcher.startswith("alertname")
        for name in re.findall(r"Netmon\w+", matcher)
    }
    assert mentioned <= names


def test_prometheus_config_points_at_the_rule_files():
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    assert sorted(PROMETHEUS_DIR / path for path in config["rule_files"]) == list(RULE_FILES)
    (netmon,) = (job for job in config["scrape_configs"] if job["job_name"] == "netmon")
    assert netmon["honor_labels"] is True
    # netmon's default http.listen (config/netmon.example.yaml).
    assert netmon["static_configs"][0]["targets"] == ["127.0.0.1:9105"]
