"""Generate netmon's Grafana dashboards (grafana/dashboards/*.json) from plain Python dicts.

The JSON files are what Grafana loads; this script is how they are written. After editing it:

    .venv/bin/python grafana/build.py          # rewrite the JSON files
    .venv/bin/python grafana/build.py --check  # exit 1 if a JSON file differs (a test runs this)

Every panel and variable queries the data source chosen in the `datasource` variable, never a
uid from one installation. Queries read netmon's metrics (docs/metrics.md) and the recording
rules of config/prometheus/rules/netmon-recording.yml, which Prometheus must load.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS", "build_all", "main", "render"]

Json = dict[str, Any]

OUT = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39
DS: Json = {"type": "prometheus", "uid": "${datasource}"}

# State codes of link:netmon_link_state:code and device:netmon_device_state:code.
STATE_MAPPINGS: list[Json] = [
    {
        "type": "value",
        "options": {
            "0": {"text": "up · hoạt động", "color": "green", "index": 0},
            "1": {"text": "down · mất kết nối", "color": "red", "index": 1},
            "2": {"text": "unreachable · không truy cập được", "color": "orange", "index": 2},
            "3": {"text": "maintenance · bảo trì", "color": "blue", "index": 3},
            "4": {"text": "unknown · chưa rõ", "color": "text", "index": 4},
        },
    }
]
UP_MAPPINGS: list[Json] = [
    {
        "type": "value",
        "options": {
            "1": {"text": "yes · có", "color": "green", "index": 0},
            "0": {"text": "no · không", "color": "red", "index": 1},
        },
    }
]
COVERAGE_THRESHOLDS: Json = {
    "mode": "absolute",
    "steps": [{"color": "red", "value": None}, {"color": "yellow", "value": 0.8}, {"color": "green", "value": 0.95}],
}
PLAIN_THRESHOLDS: Json = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
OUTAGE_THRESHOLDS: Json = {
    "mode": "absolute",
    "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}],
}

# Label filters shared by the dashboards' queries.
AT_LEVEL = 'level=~"$level"'
IN_UNITS = 'unit=~"$unit", level=~"$level"'


# ---- building blocks ---------------------------------------------------------------------------


def target(expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, table: bool = False) -> Json:
    """One Prometheus query of a panel."""
    return {
        "datasource": DS,
        "refId": ref,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
        "format": "table" if table else "time_series",
        "editorMode": "code",
    }


class Layout:
    """Places panels left to right on Grafana's 24-column grid and numbers them."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_height = 0
        self.next_id = 1
        self.panels: list[Json] = []

    def _place(self, w: int, h: int) -> Json:
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos

    def row(self, title: str) -> None:
        """Start a new row of panels under a title."""
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        self.panels.append(
            {
                "id": self.next_id,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        self.next_id += 1
        self.y += 1

    def add(
        self,
        kind: str,
        title: str,
        targets: list[Json],
        *,
        w: int = 12,
        h: int = 8,
        description: str = "",
        unit: str = "",
        minimum: float | None = None,
        maximum: float | None = None,
        mappings: list[Json] | None = None,
        thresholds: Json | None = None,
        options: Json | None = None,
        custom: Json | None = None,
        overrides: list[Json] | None = None,
        extra: Json | None = None,
    ) -> None:
        """Add a panel of type *kind* with its queries."""
        defaults: Json = {"thresholds": thresholds or PLAIN_THRESHOLDS, "mappings": mappings or []}
        if unit:
            defaults["unit"] = unit
        if minimum is not None:
            defaults["min"] = minimum
        if maximum is not None:
            defaults["max"] = maximum
        if custom:
            defaults["custom"] = custom
        if mappings or thresholds:
            defaults["color"] = {"mode": "thresholds"}
        panel: Json = {
            "id": self.next_id,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": self._place(w, h),
            "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)],
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
            "options": options or {},
        }
        panel.update(extra or {})
        self.panels.append(panel)
        self.next_id += 1


def datasource_variable() -> Json:
    """Return the `datasource` variable: any Prometheus data source of this Grafana."""
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Data source · Nguồn dữ liệu",
        "query": "prometheus",
        "regex": "",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "includeAll": False,
        "multi": False,
        "options": [],
    }


def query_variable(name: str, label: str, query: str, *, multi: bool = True, include_all: bool = True) -> Json:
    """Return a variable filled from label values of the chosen data source."""
    variable: Json = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "query": {"query": query, "refId": f"netmon-{name}"},
        "definition": query,
        "regex": "",
        "current": {},
        "hide": 0,
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": include_all,
        "options": [],
    }
    if include_all:
        variable["allValue"] = ".*"
    return variable


LEVEL_VAR = query_variable("level", "Level · Cấp", "label_values(netmon_unit_info, level)")
UNITS_VAR = query_variable("unit", "Unit · Đơn vị", 'label_values(netmon_unit_info{level=~"$level"}, unit)')
KIND_VAR = query_variable("kind", "Link kind · Loại đường truyền", "label_values(netmon_link_up, kind)")


def dashboard(uid: str, title: str, description: str, variables: list[Json], layout: Layout, **time: str) -> Json:
    """Return a whole dashboard around the panels of *layout*."""
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["netmon"],
        "editable": True,
        "graphTooltip": 1,
        "timezone": "Asia/Ho_Chi_Minh",
        "weekStart": "monday",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time.get("start", "now-24h"), "to": "now"},
        "timepicker": {},
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": [
            {
                "type": "dashboards",
                "tags": ["netmon"],
                "asDropdown": True,
                "title": "netmon",
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {"list": [datasource_variable(), *variables]},
        "panels": layout.panels,
    }


def _link_join(metric: str, links: str) -> str:
    """Return the rate of an interface counter on the interfaces of the *links*, by link.

    The filter applies to the link (netmon_link_info), not to the interface: a unit's link may
    end on a device of another unit (a department's MAN line on the province's router).
    """
    return (
        f"sum by (link, kind) (rate({metric}[$__rate_interval])"
        " * on (device, interface) group_left (link, kind)"
        f" max by (device, interface, link, kind) (netmon_link_info{{{links}}}))"
    )


def _quantile(q: float, histogram: str, by: str, selector: str = "") -> str:
    """Return the *q* quantile of a histogram's rate, by the labels *by* (and le)."""
    matchers = f"{{{selector}}}" if selector else ""
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({histogram}_bucket{matchers}[$__rate_interval])))"


# ---- dashboards --------------------------------------------------------------------------------

SERVICES = [
    ("lan", "LAN", "mạng LAN"),
    ("internet", "Internet", "Internet"),
    ("wan_man", "WAN/MAN", "WAN/MAN"),
    ("tslcd", "TSLCD", "mạng truyền số liệu chuyên dùng"),
    ("vc", "Video conference", "hội nghị truyền hình"),
]


def overview() -> Json:
    """Province overview: coverage by level, units with outages, the worst availability."""
    lay = Layout()
    lay.row("Coverage by level · Tỷ lệ đơn vị có kết nối hoạt động, theo cấp")
    for service, name, name_vi in SERVICES:
        lay.add(
            "bargauge",
            f"{name} · {name_vi}",
            [target(f'level_service:netmon_unit_coverage:ratio{{service="{service}", {AT_LEVEL}}}', "{{level}}")],
            w=8 if service != "vc" else 12,
            h=7,
            description=f"Share of the level's units with a working {name} right now (units without one count as 0).",
            unit="percentunit",
            minimum=0,
            maximum=1,
            thresholds=COVERAGE_THRESHOLDS,
            options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
        )
    lay.add(
        "timeseries",
        "Coverage over time · Độ phủ theo thời gian",
        [target(f"level_service:netmon_unit_coverage:ratio{{{AT_LEVEL}}}", "{{service}} · {{level}}")],
        w=12,
        h=7,
        unit="percentunit",
        minimum=0,
        maximum=1,
    )
    lay.row("Outages · Sự cố đang diễn ra")
    lay.add(
        "stat",
        "Units with open outages · Đơn vị đang có sự cố",
        [target(f"count(unit:netmon_objects_failed:sum{{{AT_LEVEL}}} > 0) or vector(0)", "units", instant=True)],
        w=6,
        h=8,
        description="Units with at least one device or link down or unreachable.",
        thresholds=OUTAGE_THRESHOLDS,
    )
    lay.add(
        "stat",
        "Open outages by cause · Sự cố theo nguyên nhân",
        [target("sum by (kind, cause) (netmon_outages_open)", "{{kind}} {{cause}}", instant=True)],
        w=6,
        h=8,
    )
    lay.add(
        "table",
        "Units with open outages · Danh sách đơn vị có sự cố",
        [
            target(
                f"(unit:netmon_objects_failed:sum{{{AT_LEVEL}}} > 0)"
                " * on (unit) group_left (name) max by (unit, name) (netmon_unit_info)",
                instant=True,
                table=True,
            )
        ],
        w=12,
        h=8,
        description="Failed objects (down or unreachable devices and links) per unit.",
    )
    lay.row("This month · Tháng này")
    month = {"timeFrom": "now/M", "hideTimeOverride": False}
    lay.add(
        "table",
        "Worst link availability this month · Đường truyền khả dụng thấp nhất tháng",
        [
            target(
                f"bottomk(10, avg_over_time(link:netmon_link_available:avg5m{{{AT_LEVEL}}}[$__range]))",
                instant=True,
                table=True,
            )
        ],
        w=12,
        h=9,
        description="Maintenance windows are left out. netmon's own indicators are the reference for reports.",
        unit="percentunit",
        extra=month,
    )
    lay.add(
        "table",
        "Worst unit connectivity this month · Đơn vị kết nối kém nhất tháng",
        [
            target(
                "bottomk(10, avg_over_time("
                f'unit:netmon_service_working:avg5m{{service=~"wan_man|tslcd", {AT_LEVEL}}}[$__range]))',
                instant=True,
                table=True,
            )
        ],
        w=12,
        h=9,
        description="Share of the month each unit had a working WAN/MAN and TSLCD connection.",
        unit="percentunit",
        extra=month,
    )
    lay.add(
        "timeseries",
        "Daily link availability by level and kind · Độ khả dụng theo ngày",
        [
            target(
                f'level_kind:netmon_link_available:avg1d{{{AT_LEVEL}, kind=~"wan|man|tslcd|internet"}}',
                "{{level}} {{kind}}",
            )
        ],
        w=24,
        h=8,
        unit="percentunit",
        maximum=1,
    )
    return dashboard(
        "netmon-overview",
        "netmon · Province overview · Toàn tỉnh",
        "Coverage of LAN, Internet, WAN/MAN, TSLCD and video conference by level; outages; availability.",
        [LEVEL_VAR],
        lay,
    )


def links() -> Json:
    """Links: state timelines per kind, traffic, errors, availability."""
    sel = f'kind=~"$kind", {IN_UNITS}'
    lay = Layout()
    lay.row("State · Trạng thái")
    lay.add(
        "state-timeline",
        "$kind links · Đường truyền $kind",
        [target(f'link:netmon_link_state:code{{kind=~"$kind", {IN_UNITS}}}', "{{link}} ({{unit}})")],
        w=24,
        h=8,
        mappings=STATE_MAPPINGS,
        options={"showValue": "never", "mergeValues": True, "rowHeight": 0.8},
        extra={"repeat": "kind", "repeatDirection": "v"},
    )
    lay.row("Traffic · Lưu lượng")
    lay.add(
        "timeseries",
        "Traffic in/out · Lưu lượng vào/ra",
        [
            target(_link_join("netmon_interface_received_bytes_total", sel), "{{link}} in"),
            target(_link_join("netmon_interface_transmitted_bytes_total", sel), "{{link}} out"),
        ],
        description="Octet counters of each link's interface (needs netmon_link_info). Out is drawn below zero.",
        unit="Bps",
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": "/ out$/"},
                "properties": [{"id": "custom.transform", "value": "negative-Y"}],
            }
        ],
    )
    lay.add(
        "timeseries",
        "Utilisation of declared capacity · Mức sử dụng so với băng thông",
        [
            target(
                f"{_link_join('netmon_interface_received_bytes_total', sel)}"
                f" / on (link, kind) max by (link, kind) (netmon_link_capacity_bytes{{{sel}}})",
                "{{link}} in",
            ),
            target(
                f"{_link_join('netmon_interface_transmitted_bytes_total', sel)}"
                f" / on (link, kind) max by (link, kind) (netmon_link_capacity_bytes{{{sel}}})",
                "{{link}} out",
            ),
        ],
        unit="percentunit",
        minimum=0,
    )
    lay.add(
        "timeseries",
        "Errors · Lỗi",
        [
            target(_link_join("netmon_interface_receive_errors_total", sel), "{{link}} in"),
            target(_link_join("netmon_interface_transmit_errors_total", sel), "{{link}} out"),
        ],
        unit="pps",
    )
    lay.add(
        "timeseries",
        "Discards · Gói bị loại bỏ",
        [
            target(_link_join("netmon_interface_receive_discards_total", sel), "{{link}} in"),
            target(_link_join("netmon_interface_transmit_discards_total", sel), "{{link}} out"),
        ],
        unit="pps",
    )
    lay.row("Availability · Độ khả dụng")
    lay.add(
        "bargauge",
        "Availability over the time range · Độ khả dụng trong khoảng thời gian",
        [target(f"avg_over_time(link:netmon_link_available:avg5m{{{sel}}}[$__range])", "{{link}}", instant=True)],
        description="Maintenance windows are left out.",
        unit="percentunit",
        minimum=0,
        maximum=1,
        thresholds=COVERAGE_THRESHOLDS,
        options={"orientation": "horizontal", "displayMode": "gradient"},
        h=10,
    )
    lay.add(
        "timeseries",
        "Links up by level and kind · Tỷ lệ đường truyền hoạt động",
        [target(f'level_kind:netmon_link_up:ratio{{kind=~"$kind", {AT_LEVEL}}}', "{{level}} {{kind}}")],
        unit="percentunit",
        minimum=0,
        maximum=1,
        h=10,
    )
    lay.add(
        "table",
        "Flapping links · Đường truyền chập chờn",
        [target(f"netmon_link_flapping{{{sel}}} == 1", instant=True, table=True)],
        w=24,
        h=6,
    )
    return dashboard(
        "netmon-links",
        "netmon · Links · Đường truyền",
        "State, traffic, errors and availability of the LAN, Internet, WAN, MAN and TSLCD links.",
        [LEVEL_VAR, UNITS_VAR, KIND_VAR],
        lay,
    )


def unit_detail() -> Json:
    """One unit: its devices, links, outages and alerts."""
    one = 'unit="$unit"'
    lay = Layout()
    lay.add("table", "Unit · Đơn vị", [target(f"netmon_unit_info{{{one}}}", instant=True, table=True)], w=8, h=5)
    lay.add(
        "stat",
        "Devices up · Thiết bị hoạt động",
        [
            target(f"sum(netmon_device_up{{{one}}})", "up", instant=True),
            target(f"count(netmon_device_up{{{one}}})", "total", instant=True),
        ],
        w=6,
        h=5,
    )
    lay.add(
        "stat",
        "Services · Dịch vụ",
        [target(f"unit:netmon_service_working:bool{{{one}}}", "{{service}}", instant=True)],
        w=10,
        h=5,
        mappings=UP_MAPPINGS,
        thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
    )
    lay.add(
        "state-timeline",
        "Devices · Thiết bị",
        [target(f"device:netmon_device_state:code{{{one}}}", "{{device}} ({{role}})")],
        w=24,
        h=9,
        mappings=STATE_MAPPINGS,
        options={"showValue": "never", "mergeValues": True},
    )
    lay.add(
        "state-timeline",
        "Links · Đường truyền",
        [target(f"link:netmon_link_state:code{{{one}}}", "{{link}} ({{kind}})")],
        w=24,
        h=6,
        mappings=STATE_MAPPINGS,
        options={"showValue": "never", "mergeValues": True},
    )
    lay.row("Outages · Sự cố")
    lay.add(
        "table",
        "Devices not up · Thiết bị không hoạt động",
        [target(f'netmon_device_state{{{one}, state!="up"}} == 1', instant=True, table=True)],
        h=7,
    )
    lay.add(
        "table",
        "Links not up · Đường truyền không hoạt động",
        [target(f'netmon_link_state{{{one}, state!="up"}} == 1', instant=True, table=True)],
        h=7,
    )
    lay.add(
        "table",
        "Firing alerts · Cảnh báo đang kích hoạt",
        [target(f'ALERTS{{{one}, alertstate="firing"}}', instant=True, table=True)],
        h=7,
    )
    lay.add(
        "timeseries",
        "Failed objects · Số đối tượng lỗi",
        [target(f"unit:netmon_objects_failed:sum{{{one}}}", "failed")],
        h=7,
        minimum=0,
    )
    lay.row("Performance · Hiệu năng")
    lay.add(
        "timeseries",
        "Ping RTT · Độ trễ",
        [target(f"netmon_ping_rtt_seconds{{{one}}}", "{{device}}")],
        unit="s",
    )
    lay.add(
        "timeseries",
        "Link traffic · Lưu lượng đường truyền",
        [
            target(_link_join("netmon_interface_received_bytes_total", one), "{{link}} in"),
            target(_link_join("netmon_interface_transmitted_bytes_total", one), "{{link}} out"),
        ],
        unit="Bps",
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": "/ out$/"},
                "properties": [{"id": "custom.transform", "value": "negative-Y"}],
            }
        ],
    )
    lay.add(
        "bargauge",
        "Device availability over the time range · Độ khả dụng thiết bị",
        [target(f"avg_over_time(device:netmon_device_available:avg5m{{{one}}}[$__range])", "{{device}}", instant=True)],
        unit="percentunit",
        minimum=0,
        maximum=1,
        thresholds=COVERAGE_THRESHOLDS,
        options={"orientation": "horizontal", "displayMode": "gradient"},
    )
    lay.add(
        "bargauge",
        "Link availability over the time range · Độ khả dụng đường truyền",
        [target(f"avg_over_time(link:netmon_link_available:avg5m{{{one}}}[$__range])", "{{link}}", instant=True)],
        unit="percentunit",
        minimum=0,
        maximum=1,
        thresholds=COVERAGE_THRESHOLDS,
        options={"orientation": "horizontal", "displayMode": "gradient"},
    )
    lay.row("Services · Dịch vụ")
    lay.add(
        "table",
        "Service checks · Kiểm tra dịch vụ",
        [
            target(f"netmon_service_up{{{one}}}", instant=True, table=True, ref="A"),
            target(f"netmon_probe_success{{{one}}}", instant=True, table=True, ref="B"),
            target(f"netmon_probe_http_status_code{{{one}}}", instant=True, table=True, ref="C"),
            target(
                f"(netmon_probe_ssl_earliest_cert_expiry{{{one}}} - time()) / 86400", instant=True, table=True, ref="D"
            ),
        ],
        w=24,
        description=(
            "State (hysteresis applied), the last check, its HTTP status and the days until the TLS certificate "
            "expires (alerts at 14 and 3 days). / Trạng thái, lượt kiểm tra cuối, mã HTTP và số ngày còn lại "
            "của chứng thư số TLS."
        ),
        options={"showHeader": True},
        extra={
            "transformations": [
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True},
                        "renameByName": {
                            "Value #A": "up",
                            "Value #B": "last check ok",
                            "Value #C": "HTTP status",
                            "Value #D": "certificate days left",
                        },
                    },
                },
            ]
        },
    )
    lay.add(
        "timeseries",
        "Service response time · Thời gian phản hồi dịch vụ",
        [target(f"netmon_probe_duration_seconds{{{one}}}", "{{service}} ({{check}})")],
        unit="s",
        w=24,
    )
    return dashboard(
        "netmon-unit",
        "netmon · Unit detail · Chi tiết đơn vị",
        "One unit's devices, links, outages and alerts.",
        [LEVEL_VAR, query_variable("unit", "Unit · Đơn vị", UNITS_VAR["definition"], multi=False, include_all=False)],
        lay,
    )


def devices() -> Json:
    """Devices: RTT, loss, jitter, SNMP, interfaces, host resources."""
    sel = f'device=~"$device", role=~"$role", {IN_UNITS}'
    iface = f'device=~"$device", {IN_UNITS}'
    lay = Layout()
    lay.row("Reachability · Khả năng kết nối")
    lay.add("timeseries", "Ping RTT · Độ trễ", [target(f"netmon_ping_rtt_seconds{{{sel}}}", "{{device}}")], unit="s")
    lay.add(
        "timeseries",
        "Packet loss · Tỷ lệ mất gói",
        [target(f"netmon_ping_loss_ratio{{{sel}}}", "{{device}}")],
        unit="percentunit",
        minimum=0,
        maximum=1,
    )
    lay.add(
        "timeseries",
        "Jitter · Độ biến thiên trễ",
        [target(f"netmon_ping_jitter_seconds{{{sel}}}", "{{device}}")],
        unit="s",
    )
    lay.add(
        "state-timeline",
        "State · Trạng thái",
        [target(f"device:netmon_device_state:code{{{sel}}}", "{{device}}")],
        mappings=STATE_MAPPINGS,
        options={"showValue": "never", "mergeValues": True},
    )
    lay.add(
        "state-timeline",
        "SNMP answers · SNMP phản hồi",
        [target(f"netmon_snmp_up{{{sel}}}", "{{device}}")],
        mappings=UP_MAPPINGS,
        options={"showValue": "never", "mergeValues": True},
    )
    lay.add(
        "table",
        "Uptime · Thời gian hoạt động",
        [target(f"netmon_device_uptime_seconds{{{sel}}}", instant=True, table=True)],
        unit="s",
    )
    lay.row("Interfaces · Cổng giao tiếp")
    lay.add(
        "table",
        "Interfaces operationally up · Cổng đang hoạt động",
        [
            target(f"netmon_interface_oper_up{{{iface}}}", instant=True, table=True),
            target(f"netmon_interface_admin_up{{{iface}}}", instant=True, table=True),
            target(f"netmon_interface_speed_bytes{{{iface}}}", instant=True, table=True),
        ],
        w=24,
        options={"showHeader": True},
        extra={
            "transformations": [
                {"id": "merge", "options": {}},
                {
                    "id": "organize",
                    "options": {
                        "excludeByName": {"Time": True, "__name__": True, "job": True, "instance": True},
                        "renameByName": {"Value #A": "oper up", "Value #B": "admin up", "Value #C": "speed (B/s)"},
                    },
                },
            ]
        },
    )
    lay.add(
        "timeseries",
        "Interface traffic · Lưu lượng cổng",
        [
            target(
                f"rate(netmon_interface_received_bytes_total{{{iface}}}[$__rate_interval])",
                "{{device}} {{interface}} in",
            ),
            target(
                f"rate(netmon_interface_transmitted_bytes_total{{{iface}}}[$__rate_interval])",
                "{{device}} {{interface}} out",
            ),
        ],
        unit="Bps",
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": "/ out$/"},
                "properties": [{"id": "custom.transform", "value": "negative-Y"}],
            }
        ],
    )
    lay.add(
        "timeseries",
        "Interface errors and discards · Lỗi và gói bị loại",
        [
            target(
                f"rate(netmon_interface_receive_errors_total{{{iface}}}[$__rate_interval])"
                f" + rate(netmon_interface_transmit_errors_total{{{iface}}}[$__rate_interval])",
                "{{device}} {{interface}} errors",
            ),
            target(
                f"rate(netmon_interface_receive_discards_total{{{iface}}}[$__rate_interval])"
                f" + rate(netmon_interface_transmit_discards_total{{{iface}}}[$__rate_interval])",
                "{{device}} {{interface}} discards",
            ),
        ],
        unit="pps",
    )
    lay.add(
        "table",
        "Flapping interfaces · Cổng chập chờn",
        [target(f"netmon_interface_flapping{{{iface}}} == 1", instant=True, table=True)],
        w=24,
        h=6,
    )
    lay.row("Host resources · Tài nguyên máy chủ")
    lay.add(
        "timeseries",
        "CPU load · Tải CPU",
        [target(f"netmon_host_cpu_load_ratio{{{iface}}}", "{{device}} cpu {{cpu}}")],
        unit="percentunit",
        minimum=0,
        maximum=1,
    )
    lay.add(
        "timeseries",
        "Storage used · Dung lượng đã dùng",
        [
            target(
                f"netmon_host_storage_used_bytes{{{iface}}} / netmon_host_storage_size_bytes{{{iface}}}",
                "{{device}} {{storage}}",
            )
        ],
        unit="percentunit",
        minimum=0,
        maximum=1,
    )
    return dashboard(
        "netmon-devices",
        "netmon · Devices · Thiết bị",
        "RTT, loss, jitter, SNMP, interfaces and host resources of the chosen devices.",
        [
            LEVEL_VAR,
            UNITS_VAR,
            query_variable("role", "Role · Vai trò", "label_values(netmon_device_up, role)"),
            query_variable(
                "device",
                "Device · Thiết bị",
                'label_values(netmon_device_up{unit=~"$unit", role=~"$role", level=~"$level"}, device)',
            ),
        ],
        lay,
        start="now-6h",
    )


def poller() -> Json:
    """Poller health: rounds, lag, overruns, samples by status, database latency."""
    pc = 'poll_class=~"$poll_class"'
    lay = Layout()
    lay.add(
        "stat",
        "Scraped · Thu thập được",
        [target('up{job="netmon"}', "{{instance}}", instant=True)],
        w=6,
        h=5,
        mappings=UP_MAPPINGS,
    )
    lay.add(
        "stat",
        "Inventory · Kiểm kê",
        [target("netmon_inventory_objects", "{{kind}}", instant=True)],
        w=8,
        h=5,
    )
    lay.add(
        "table",
        "Build · Phiên bản",
        [target("netmon_build_info", instant=True, table=True)],
        w=10,
        h=5,
    )
    lay.row("Rounds · Vòng thăm dò")
    lay.add(
        "timeseries",
        "Round duration p50 / p95 · Thời gian một vòng",
        [
            target(
                _quantile(0.5, "netmon_poll_round_duration_seconds", "poll_class", pc),
                "{{poll_class}} p50",
            ),
            target(
                _quantile(0.95, "netmon_poll_round_duration_seconds", "poll_class", pc),
                "{{poll_class}} p95",
            ),
        ],
        unit="s",
    )
    lay.add(
        "timeseries",
        "Start lag · Độ trễ bắt đầu vòng",
        [
            target(f"netmon_poll_round_lag_seconds{{{pc}}}", "{{poll_class}} lag"),
            target(f"0.25 * netmon_poll_interval_seconds{{{pc}}}", "{{poll_class}} alert threshold"),
        ],
        unit="s",
    )
    lay.add(
        "timeseries",
        "Since the last round · Thời gian từ vòng cuối",
        [
            target(f"time() - netmon_poll_last_round_timestamp_seconds{{{pc}}}", "{{poll_class}}"),
            target(f"netmon_poll_interval_seconds{{{pc}}}", "{{poll_class}} interval"),
        ],
        unit="s",
    )
    lay.add(
        "timeseries",
        "Rounds and overruns per minute · Số vòng và vòng bị bỏ mỗi phút",
        [
            target(f"60 * rate(netmon_poll_rounds_total{{{pc}}}[$__rate_interval])", "{{poll_class}} rounds"),
            target(f"60 * rate(netmon_poll_overruns_total{{{pc}}}[$__rate_interval])", "{{poll_class}} overruns"),
        ],
        unit="short",
    )
    lay.row("Samples · Mẫu thăm dò")
    lay.add(
        "timeseries",
        "Samples by status · Mẫu theo trạng thái",
        [
            target(
                f"sum by (poll_class, status) (rate(netmon_poll_samples_total{{{pc}}}[$__rate_interval]))",
                "{{poll_class}} {{status}}",
            )
        ],
        unit="ops",
        custom={"stacking": {"mode": "normal", "group": "A"}, "fillOpacity": 30},
    )
    lay.add(
        "timeseries",
        "Share of failed samples · Tỷ lệ mẫu lỗi",
        [
            target(
                f'sum by (poll_class) (rate(netmon_poll_samples_total{{{pc}, status!="ok"}}[$__rate_interval]))'
                f" / sum by (poll_class) (rate(netmon_poll_samples_total{{{pc}}}[$__rate_interval]))",
                "{{poll_class}}",
            )
        ],
        unit="percentunit",
        minimum=0,
        maximum=1,
    )
    lay.row("Database and scrape · Cơ sở dữ liệu và thu thập")
    lay.add(
        "timeseries",
        "Database write latency p50 / p95 · Độ trễ ghi CSDL",
        [
            target(
                _quantile(0.5, "netmon_db_write_duration_seconds", "operation"),
                "{{operation}} p50",
            ),
            target(
                _quantile(0.95, "netmon_db_write_duration_seconds", "operation"),
                "{{operation}} p95",
            ),
        ],
        unit="s",
    )
    lay.add(
        "timeseries",
        "Scrape duration and size · Thời gian và kích thước lần thu thập",
        [
            target('scrape_duration_seconds{job="netmon"}', "{{instance}} duration (s)"),
            target('scrape_samples_scraped{job="netmon"}', "{{instance}} samples"),
            target(
                _quantile(0.95, "netmon_exposition_duration_seconds", "path"),
                "netmon's own render p95 {{path}} (s)",
            ),
        ],
        overrides=[
            {
                "matcher": {"id": "byRegexp", "options": "/samples$/"},
                "properties": [{"id": "custom.axisPlacement", "value": "right"}, {"id": "unit", "value": "short"}],
            }
        ],
        unit="s",
    )
    return dashboard(
        "netmon-poller",
        "netmon · Poller health · Tình trạng bộ thăm dò",
        "netmon's own health: poll rounds, lag, overruns, samples by status, database latency, scrapes.",
        [
            query_variable(
                "poll_class", "Poll class · Loại thăm dò", "label_values(netmon_poll_interval_seconds, poll_class)"
            )
        ],
        lay,
        start="now-6h",
    )


DASHBOARDS = {
    "netmon-overview.json": overview,
    "netmon-links.json": links,
    "netmon-unit.json": unit_detail,
    "netmon-devices.json": devices,
    "netmon-poller.json": poller,
}


def render(board: Json) -> str:
    """Return the exact text of a dashboard file: sorted keys, two-space indent, UTF-8, final newline."""
    return json.dumps(board, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def build_all() -> dict[str, str]:
    """Every dashboard file name and its text."""
    return {name: render(make()) for name, make in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    """Write the dashboards, or with --check report those that differ from the files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    parser.add_argument("--out", type=Path, default=OUT, help="dashboards directory (default: %(default)s)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build_all().items():
        path: Path = args.out / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        sys.stderr.write(f"out of date (run grafana/build.py): {', '.join(stale)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
