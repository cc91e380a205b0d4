"""Services in the inventory: parsing, validation messages with file and line, the URL and HOST:PORT parsers."""

from __future__ import annotations

import dataclasses
import ipaddress
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netmon.errors import InventoryError
from netmon.inventory.files import read_files, render_yaml, write_csv
from netmon.inventory.models import ServiceCheck
from netmon.inventory.plan import Plan, make_plan
from netmon.inventory.spec import Inventory
from netmon.inventory.targets import parse_expect_status, parse_host_port, parse_url
from netmon.inventory.views import describe, service_rows
from netmon.pollers.service import ServiceTarget, service_targets

EMPTY = Inventory(units={}, devices={}, links={})
PROFILES = {"lab-v2c"}

BASE = """\
units:
  - code: P
    name: Tỉnh Sông Lam
    level: province
  - code: D1
    name: Sở Khoa học và Công nghệ
    level: department
    parent: P
devices:
  - name: p-srv1
    unit: P
    role: server
    address: 127.30.0.10
services:
  - name: portal
    unit: P
    device: p-srv1
    check: http
    url: https://127.30.0.10/
    body_match: "Sông Lam"
    tls_verify: false
  - name: mail
    unit: D1
    check: tcp
    address: 127.30.0.11:25
"""


def _plan(tmp_path: Path, text: str) -> Plan:
    path = tmp_path / "inv.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return make_plan(EMPTY, read_files([path]), profiles=PROFILES, prune=False)


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        _plan(tmp_path, text)
    return [str(issue).replace(str(tmp_path) + "/", "") for issue in caught.value.issues]


def test_services_are_read_and_validated(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE)
    portal, mail = plan.desired.services["portal"], plan.desired.services["mail"]
    assert (portal.check, portal.device, portal.expect_status, portal.tls_verify) == (
        ServiceCheck.HTTP,
        "p-srv1",
        "200",
        False,
    )
    assert (mail.check, mail.address, mail.url) == (ServiceCheck.TCP, "127.30.0.11:25", None)
    assert plan.summary() == "5 to create, 0 to update, 0 to delete, 0 unchanged"


SERVICE_ERRORS = [
    pytest.param(
        BASE.replace("    unit: D1\n    check: tcp", "    unit: D9\n    check: tcp"),
        ["inv.yaml:23: service 'mail': unit: unknown unit 'D9'"],
        id="unknown-unit",
    ),
    pytest.param(
        BASE.replace("    device: p-srv1\n", "    device: p-srv9\n"),
        ["inv.yaml:17: service 'portal': device: unknown device 'p-srv9'"],
        id="unknown-device",
    ),
    pytest.param(
        BASE.replace("url: https://127.30.0.10/", "url: ftp://127.30.0.10/"),
        ["inv.yaml:19: service 'portal': url: URL scheme must be http or https, not 'ftp'"],
        id="url-scheme",
    ),
    pytest.param(
        BASE.replace("url: https://127.30.0.10/", "url: https://admin:secret@127.30.0.10/"),
        ["inv.yaml:19: service 'portal': url: URL must not hold a user name or password"],
        id="url-with-password",
    ),
    pytest.param(
        BASE.replace("url: https://127.30.0.10/", "url: https://127.30.0.10/?access_token=abc123"),
        [
            (
                "inv.yaml:19: service 'portal': url: URL query parameter 'access_token' looks like a credential,"
                " which would end up in exports and logs; check a page that needs none (e.g. a health or login page)"
            )
        ],
        id="url-with-a-token",
    ),
    pytest.param(
        BASE.replace("url: https://127.30.0.10/", "url: https://127.30.0.10:70000/"),
        ["inv.yaml:19: service 'portal': url: not a valid URL: Port out of range 0-65535"],
        id="url-port-out-of-range",
    ),
    pytest.param(
        BASE.replace("address: 127.30.0.11:25", "address: 127.30.0.11:0"),
        ["inv.yaml:25: service 'mail': address: port '0' is out of range (1-65535)"],
        id="port-zero",
    ),
    pytest.param(
        BASE.replace("address: 127.30.0.11:25", "address: 127.30.0.11"),
        ["inv.yaml:25: service 'mail': address: '127.30.0.11' is not HOST:PORT, e.g. 198.18.0.10:443"],
        id="no-port",
    ),
    pytest.param(
        BASE.replace("address: 127.30.0.11:25", "address: '::1:25'"),
        ["inv.yaml:25: service 'mail': address: '::1:25': write an IPv6 address in brackets, e.g. [2001:db8::1]:443"],
        id="ipv6-without-brackets",
    ),
    pytest.param(
        BASE.replace("    check: tcp\n    address: 127.30.0.11:25\n", "    check: tcp\n"),
        ["inv.yaml:22: service 'mail': address: check tcp needs address (e.g. 198.18.0.10:443)"],
        id="tcp-without-address",
    ),
    pytest.param(
        BASE.replace("    url: https://127.30.0.10/\n", ""),
        ["inv.yaml:15: service 'portal': url: check http needs url (e.g. https://dichvucong.example.gov.vn/)"],
        id="http-without-url",
    ),
    pytest.param(
        BASE + "    body_match: OK\n",
        ["inv.yaml:26: service 'mail': body_match: check tcp takes no body_match"],
        id="tcp-with-body-match",
    ),
    pytest.param(
        BASE.replace('body_match: "Sông Lam"', 'body_match: "Sông (Lam"'),
        [
            (
                "inv.yaml:20: service 'portal': body_match: not a valid regular expression: "
                "missing ), unterminated subpattern at position 5"
            )
        ],
        id="bad-regex",
    ),
    pytest.param(
        BASE.replace("    tls_verify: false\n", "    tls_verify: false\n    expect_status: [200, 700]\n"),
        ["inv.yaml:22: service 'portal': expect_status: 700: status codes run from 100 to 599, low to high"],
        id="status-out-of-range",
    ),
    pytest.param(
        BASE.replace("  - name: mail\n", "  - name: portal\n"),
        ["inv.yaml:22: service 'portal': name: duplicate service name (first at inv.yaml:15)"],
        id="duplicate-name",
    ),
    pytest.param(
        BASE.replace("    tls_verify: false\n", "    tls_verify: false\n    timeout: 0\n"),
        ["inv.yaml:22: service 'portal': timeout: Input should be greater than 0"],
        id="timeout-zero",
    ),
    pytest.param(
        BASE.replace("    tls_verify: false\n", "    tls_verify: false\n    colour: red\n"),
        ["inv.yaml:22: service 'portal': colour: unknown field"],
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SERVICE_ERRORS)
def test_service_validation_messages(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert _errors(tmp_path, text) == expected


def test_prune_cannot_orphan_a_service(tmp_path: Path) -> None:
    current = _plan(tmp_path, BASE).desired
    path = tmp_path / "devices-only.yaml"
    path.write_text(
        BASE.split("services:", maxsplit=1)[0].replace("  - name: p-srv1", "  - name: p-srv2"), encoding="utf-8"
    )
    with pytest.raises(InventoryError) as caught:
        make_plan(current, read_files([path]), profiles=PROFILES, prune=True)
    assert [i.message for i in caught.value.issues] == [
        "device 'p-srv1' is not in the files, so --prune would delete it, but this record refers to it"
    ]


def test_services_round_trip_through_yaml_and_csv(tmp_path: Path) -> None:
    inventory = _plan(tmp_path, BASE).desired
    assert "services:" in render_yaml(inventory)
    written = write_csv(inventory, tmp_path / "csv")
    assert "services.csv" in [p.name for p in written]
    again = make_plan(EMPTY, read_files([tmp_path / "csv"]), profiles=PROFILES, prune=False).desired
    assert again == inventory
    yaml_path = tmp_path / "out.yaml"
    yaml_path.write_text(render_yaml(inventory), encoding="utf-8")
    assert make_plan(EMPTY, read_files([yaml_path]), profiles=PROFILES, prune=False).desired == inventory


def test_views_and_targets(tmp_path: Path) -> None:
    inventory = _plan(tmp_path, BASE).desired
    view = describe(inventory, "portal")
    assert (view["type"], view["url"], [u["code"] for u in view["unit_path"]]) == (
        "service",
        "https://127.30.0.10/",
        ["P"],
    )
    assert describe(inventory, "p-srv1")["services"] == ["portal"]
    assert [r["name"] for r in service_rows(inventory, "D1")] == ["mail"]
    targets = {t.name: t for t in service_targets(inventory)}
    assert targets["mail"] == ServiceTarget(name="mail", unit="D1", check=ServiceCheck.TCP, host="127.30.0.11", port=25)
    assert targets["portal"].on_device == "p-srv1"
    assert [t.name for t in service_targets(inventory, ServiceCheck.HTTP)] == ["portal"]


# ---- the parsers -------------------------------------------------------------------------


def _one_host(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    plain = (address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None) or address
    return not (plain.is_unspecified or plain.is_multicast or plain == ipaddress.IPv4Address("255.255.255.255"))


_hosts = st.one_of(
    st.ip_addresses(v=4).filter(_one_host).map(str),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9](\.[a-z][a-z0-9]{0,10}){0,3}", fullmatch=True),
)


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(host=_hosts, port=st.integers(1, 65535))
def test_host_port_round_trips(host: str, port: int) -> None:
    assert parse_host_port(f"{host}:{port}") == (host, port)


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(address=st.ip_addresses(v=6).filter(_one_host), port=st.integers(1, 65535))
def test_bracketed_ipv6_round_trips(address: ipaddress.IPv6Address, port: int) -> None:
    assert parse_host_port(f"[{address}]:{port}") == (str(address), port)


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(port=st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_ports_out_of_range_are_refused(port: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_host_port(f"127.0.0.1:{port}")


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(text=st.text(max_size=40))
def test_any_text_is_a_host_port_or_a_value_error(text: str) -> None:
    try:
        host, port = parse_host_port(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert 1 <= port <= 65535
        assert parse_host_port(f"[{host}]:{port}" if ":" in host else f"{host}:{port}") == (host, port)


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
    host=_hosts,
    port=st.none() | st.integers(1, 65535),
    path=st.from_regex(r"(/[a-z0-9._~-]{0,8}){0,3}(\?[a-f0-9=&]{1,10})?", fullmatch=True),  # no credential names
)
def test_urls_round_trip(scheme: str, host: str, port: int | None, path: str) -> None:
    url = f"{scheme}://{host}{f':{port}' if port else ''}{path}"
    parsed = parse_url(url)
    assert parsed == url.replace(scheme, scheme.lower(), 1)
    assert parse_url(parsed) == parsed


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(text=st.text(max_size=60))
def test_any_text_is_a_url_or_a_value_error(text: str) -> None:
    try:
        url = parse_url(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert url.startswith(("http://", "https://"))
        assert parse_url(url) == url


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        pytest.param("HTTPS://Portal.Example.GOV.vn/a?b=1", "https://portal.example.gov.vn/a?b=1", id="case"),
        pytest.param("https://cổngthôngtin.vn/", "https://xn--cngthngtin-vbb7982g.vn/", id="idna"),
        pytest.param("http://[::1]:8080/x", "http://[::1]:8080/x", id="ipv6"),
        pytest.param("https://127.20.1.10", "https://127.20.1.10", id="no-path"),
    ],
)
def test_url_canonical_forms(url: str, parsed: str) -> None:
    assert parse_url(url) == parsed


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("token=s3cr3tv4lue", "token"),
        ("api_key=s3cr3tv4lue", "api_key"),
        ("X-Amz-Signature=s3cr3tv4lue", "X-Amz-Signature"),
        ("access_token=s3cr3tv4lue", "access_token"),
        ("a=1&client.secret=s3cr3tv4lue", "client.secret"),
        ("PASSWORD=s3cr3tv4lue", "PASSWORD"),
        ("key", "key"),
    ],
)
def test_a_url_with_a_credential_in_its_query_is_refused_without_echoing_it(query: str, name: str) -> None:
    with pytest.raises(ValueError, match="looks like a credential") as caught:
        parse_url(f"https://portal.example.gov.vn/status?{query}")
    assert "s3cr3tv4lue" not in str(caught.value)
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize("query", ["page=2&lang=vi", "keyword=mang", "monkey=1", "tokens_left=3"])
def test_ordinary_query_parameters_are_kept(query: str) -> None:
    assert parse_url(f"https://portal.example.gov.vn/?{query}").endswith(query)


STATUS_CASES = [
    pytest.param(200, "200", id="int"),
    pytest.param("200-299", "200-299", id="range"),
    pytest.param([301, 200, "302"], "200,301-302", id="list-merged"),
    pytest.param("204, 200-203", "200-204", id="adjacent-merged"),
    pytest.param(["500-503", 503], "500-503", id="overlap"),
]


@pytest.mark.parametrize(("value", "text"), STATUS_CASES)
def test_expect_status_is_canonical(value: object, text: str) -> None:
    assert parse_expect_status(value).text == text


@settings(deadline=None)  # a loaded shared machine is not a bug
@given(codes=st.lists(st.integers(100, 599), min_size=1, max_size=6), probe=st.integers(0, 700))
def test_expect_status_accepts_exactly_its_codes(codes: list[int], probe: int) -> None:
    status = parse_expect_status(codes)
    assert status.accepts(probe) == (probe in codes)
    assert parse_expect_status(status.text) == status


@pytest.mark.parametrize("value", [True, 99, 600, "2xx", "", "300-200", [], {"a": 1}, 200.5], ids=repr)
def test_bad_expect_status_is_a_value_error(value: object) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_expect_status(value)


def test_a_csv_export_without_services_removes_an_earlier_exports_services_csv(tmp_path: Path) -> None:
    """An old services.csv left beside the new files was imported back (services the inventory no longer has)."""
    inventory = _plan(tmp_path, BASE).desired
    folder = tmp_path / "csv"
    write_csv(inventory, folder)
    assert (folder / "services.csv").exists()
    without = dataclasses.replace(inventory, services={})
    written = write_csv(without, folder)
    assert sorted(p.name for p in written) == ["devices.csv", "links.csv", "units.csv"]
    assert not (folder / "services.csv").exists()
    again = make_plan(EMPTY, read_files([folder]), profiles=PROFILES, prune=False).desired
    assert again == without


@pytest.mark.parametrize(
    "where",
    [
        "0.0.0.0:80",
        "255.255.255.255:80",
        "224.0.0.1:80",
        "[::]:443",
        "[ff02::1]:443",
        "[::ffff:0.0.0.0]:80",
        "http://0.0.0.0/",
        "https://[::]/",
        "http://224.0.0.1:8080/health",
    ],
)
def test_a_service_at_an_address_that_is_no_one_host_s_is_refused(where: str) -> None:
    """A connection to 0.0.0.0:PORT reaches the station itself: the check tested netmon's own machine, "up".

    The same rule as a device's address (`check_one_host`).
    """
    with pytest.raises(ValueError, match="is not the address of one host"):
        parse_url(where) if "://" in where else parse_host_port(where)


def test_a_service_address_with_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="an address with a zone"):
        parse_host_port("[fe80::1%eth0]:22")
