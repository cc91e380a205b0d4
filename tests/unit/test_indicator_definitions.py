"""Indicator definitions, periods and rows: parsing, validation with file:line, round trips."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.config import INDICATOR_RULES, load_config
from netmon.errors import ConfigError, InputError, PeriodError
from netmon.indicators.definitions import catalog_for, load_catalog, share_text
from netmon.indicators.evaluate import Facts
from netmon.indicators.period import PeriodKind, parse_period
from netmon.indicators.row import IndicatorRow
from netmon.monitor.availability import StateSeconds

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def z(*parts: int) -> datetime:
    """Return a UTC instant."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


#: text -> (label, kind, start, end, complete); bounds are local midnights in UTC (+07:00)
PERIODS = [
    ("2025", ("2025", PeriodKind.YEAR, z(2024, 12, 31, 17), z(2025, 12, 31, 17), True)),
    ("2026-Q3", ("2026-Q3", PeriodKind.QUARTER, z(2026, 6, 30, 17), z(2026, 9, 30, 17), True)),
    ("2026-q4", ("2026-Q4", PeriodKind.QUARTER, z(2026, 9, 30, 17), NOW, False)),
    ("2026-09", ("2026-09", PeriodKind.MONTH, z(2026, 8, 31, 17), z(2026, 9, 30, 17), True)),
    ("2025-12", ("2025-12", PeriodKind.MONTH, z(2025, 11, 30, 17), z(2025, 12, 31, 17), True)),
    (" live ", ("live", PeriodKind.LIVE, NOW, NOW, True)),
]


@pytest.mark.parametrize(("text", "expected"), PERIODS, ids=[p[0] for p in PERIODS])
def test_periods_are_local_calendar_bounds(text, expected) -> None:
    period = parse_period(text, ZONE, NOW)
    assert (period.label, period.kind, period.start, period.end, period.complete) == expected


BAD = [
    ("2026-Q5", "bad period '2026-Q5': expected YYYY, YYYY-Qn, YYYY-MM or live"),
    ("2026-13", "bad period '2026-13': month 13 is not 01..12"),
    ("1999", "bad period '1999': year 1999 is outside 2000..2100"),
    ("Q3-2026", "bad period 'Q3-2026': expected"),
    ("", "bad period '': expected"),
    ("2027", "period '2027' has not begun yet (it starts 2027-01-01 Asia/Ho_Chi_Minh)"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_periods_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, ZONE, NOW)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, InputError)
    assert caught.value.exit_code == 2


@given(st.text(max_size=12))
def test_any_text_is_a_period_or_a_period_error(text: str) -> None:
    try:
        period = parse_period(text, ZONE, NOW)
    except PeriodError as exc:
        assert repr(text) in str(exc) or "has not begun" in str(exc)
    else:
        assert period.start <= period.end <= NOW


def test_builtin_catalog_is_bilingual_and_complete() -> None:
    catalog = load_catalog(rules=INDICATOR_RULES)
    assert len(catalog.definitions) == 19
    for d in catalog:
        assert d.name_vi
        assert d.name_vi != d.name_en
        for lang in ("vi", "en"):
            text = catalog.rule_text(d, lang)
            assert "{" not in text, (d.id, text)
    lan = catalog.definitions[0]
    assert "90%" in catalog.rule_text(lan, "en")
    assert "90%" in catalog.rule_text(lan, "vi")


USER = """\
indicators:
  - id: ups_units
    name_vi: Tỷ lệ đơn vị có UPS
    name_en: Share of units with a UPS
    framework: provincial
    measure: percent
    levels: [district, ward]
    rule_vi: Đơn vị có ít nhất một UPS hoạt động {ups_min_up} thời gian.
    rule_en: A unit with a UPS up {ups_min_up} of the period.
    formula:
      numerator: {units: {device_up: {role: [ups], min_ratio: ups_min_up}}}
      denominator: {units: all}
"""


def test_user_definitions_come_from_the_config(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(USER, encoding="utf-8")
    config = tmp_path / "netmon.yaml"
    config.write_text(
        f"indicators:\n  definitions: [{tmp_path / 'mine.yaml'}]\n  rules:\n    ups_min_up: 0.75\n", encoding="utf-8"
    )
    catalog = catalog_for(load_config(config, environ={}).indicators)
    assert catalog.definitions[-1].id == "ups_units"
    assert catalog.rules == {**INDICATOR_RULES, "ups_min_up": 0.75}
    assert catalog.rule_text(catalog.definitions[-1], "en") == "A unit with a UPS up 75% of the period."


ERRORS = [
    ("unknown key", USER.replace("    measure: percent\n", "    measure: percent\n    colour: red\n"),
     "mine.yaml:7: indicators[0].colour: unknown key"),
    ("bad role", USER.replace("role: [ups]", "role: [toaster]"), "mine.yaml:11: indicators[0].formula.numerator.units"),
    ("two keys", USER.replace("denominator: {units: all}", "denominator: {units: all, sum: staff}"),
     "mine.yaml:12: indicators[0].formula.denominator: give exactly one of units | sum"),
    ("unknown rule", USER, "mine.yaml:2: indicators[0]: unknown rule ups_min_up"),
    ("duplicate id", USER.replace("ups_units", "lan_units"),
     "mine.yaml:2: indicators[0].id: indicator 'lan_units' is already defined at netmon/indicators/definitions.yaml:"),
    ("points without b", USER.replace("      denominator: {units: all}\n", "").replace(
        "measure: percent", "measure: count\n    max_points: 3"),
     "mine.yaml:2: indicators[0]: max_points needs a denominator"),
    ("yaml", "indicators: [\n", "mine.yaml:2: YAML:"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_definition_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_catalog([path], INDICATOR_RULES)
    assert f"{tmp_path}/{message}" in str(caught.value) or message in str(caught.value), str(caught.value)
    assert caught.value.exit_code == 2


def test_config_rejects_a_threshold_above_one(tmp_path: Path) -> None:
    config = tmp_path / "netmon.yaml"
    config.write_text("indicators:\n  rules:\n    lan_min_up: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"netmon.yaml:3: indicators.rules.lan_min_up: Input should be less"):
        load_config(config, environ={})


def test_row_round_trips_through_dict() -> None:
    row = IndicatorRow(
        indicator="lan_units",
        name_vi="Tỷ lệ",
        name_en="Share",
        unit=None,
        unit_name=None,
        level="all",
        period="2026-Q3",
        a=3,
        b=0,
        ratio=None,
        applicable=False,
        measure="percent",
        framework="DTI",
        max_points=10.0,
        points=None,
        source="live monitoring",
        evidence_a=("unit:P",),
        evidence_b=(),
    )
    data = row.to_dict()
    assert data["ratio"] is None
    assert data["evidence_a"] == ["unit:P"]
    assert IndicatorRow.from_dict(data) == row
    assert (row.rollup, row.label) == (True, "level:all")


def test_a_threshold_is_shown_with_its_decimals(tmp_path: Path) -> None:
    """An SLA of 99.9 % was written "100%" in the rule text and the evidence ("up 100.0% ≥ 100%").

    sla_link: a unit with an internet link up at least 99.9 % of a 30-day month (2,592,000 s):
    a link down 2,000 s is up 2,590,000 / 2,592,000 = 99.923 % and counts.
    """
    rules = {**INDICATOR_RULES, "sla_min_up": 0.999}
    (tmp_path / "sla.yaml").write_text(
        USER.replace("ups_units", "sla_units")
        .replace("{ups_min_up}", "{sla_min_up}")
        .replace(
            "device_up: {role: [ups], min_ratio: ups_min_up}", "link_up: {kind: [internet], min_ratio: sla_min_up}"
        ),
        encoding="utf-8",
    )
    catalog = load_catalog([tmp_path / "sla.yaml"], rules=rules, builtin=False)
    assert catalog.rule_text(catalog.definitions[0], "en") == "A unit with a UPS up 99.9% of the period."
    facts = Facts(live=False, seconds={("link", "l"): StateSeconds(up=2_590_000, down=2_000)})
    assert facts.works(("link", "l"), 0.999) == "up 99.92% ≥ 99.9%"
    assert facts.works(("link", "l"), 0.9) == "up 99.9% ≥ 90%"  # as before for whole percentages
    assert facts.works(("link", "l"), 0.9995) is None
    assert [share_text(v) for v in (0.9, 0.5, 0.999, 0.9995, 1.0)] == ["90%", "50%", "99.9%", "99.95%", "100%"]
