"""Inventory files: parsing, every validation error with its exact message, file-level round trips."""

from __future__ import annotations

import gzip
import io
import re
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from netmon.errors import InventoryError
from netmon.inventory.files import read_files, render_yaml, write_csv, write_yaml
from netmon.inventory.plan import Plan, make_plan
from netmon.inventory.spec import DeviceSpec, Inventory, LinkSpec, UnitSpec
from tests.conftest import EXAMPLE_INVENTORY

EMPTY = Inventory(units={}, devices={}, links={})
PROFILES = {"lab-v2c", "lab-v3"}

BASE = """\
units:
  - code: P
    name: Tỉnh Sông Lam
    level: province
  - code: D1
    name: Huyện Lâm Sơn
    level: district
    parent: P
  - code: W1
    name: Xã Hòa Sơn
    level: ward
    parent: D1
devices:
  - name: p-r1
    unit: P
    role: router
    address: 127.30.0.1
    snmp: lab-v2c
  - name: d1-r1
    unit: D1
    role: router
    address: 127.30.1.1
    parent: p-r1
links:
  - name: d1-tslcd
    kind: tslcd
    unit: D1
    device: d1-r1
    interface: ge-0/0/1
"""


def _plan(tmp_path: Path, text: str, name: str = "inv.yaml") -> Plan:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return make_plan(EMPTY, read_files([path]), profiles=PROFILES, prune=False)


def _errors(tmp_path: Path, text: str, name: str = "inv.yaml") -> list[str]:
    with pytest.raises(InventoryError) as caught:
        _plan(tmp_path, text, name)
    return [str(issue).replace(str(tmp_path) + "/", "") for issue in caught.value.issues]


def test_base_inventory_is_valid(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE)
    assert plan.summary() == "6 to create, 0 to update, 0 to delete, 0 unchanged"


def test_example_inventory_is_valid() -> None:
    plan = make_plan(EMPTY, read_files([EXAMPLE_INVENTORY]), profiles=PROFILES, prune=False)
    units = plan.desired.units
    assert {u.level for u in units.values()} == {"province", "department", "district", "commune"}
    assert any("ư" in u.name or "ơ" in u.name for u in units.values()), "Vietnamese diacritics intact"
    assert all(d.address.startswith("127.") for d in plan.desired.devices.values())


VALIDATION_ERRORS = [
    pytest.param(
        BASE.replace("    unit: D1\n    role: router", "    unit: D9\n    role: router"),
        ["inv.yaml:20: device 'd1-r1': unit: unknown unit 'D9'"],
        id="unknown-unit",
    ),
    pytest.param(
        BASE.replace("    parent: D1\n", "    parent: D7\n"),
        ["inv.yaml:12: unit 'W1': parent: unknown parent unit 'D7'"],
        id="unknown-parent-unit",
    ),
    pytest.param(
        BASE.replace("    parent: p-r1\n", "    parent: p-r9\n"),
        ["inv.yaml:23: device 'd1-r1': parent: unknown parent device 'p-r9'"],
        id="unknown-parent-device",
    ),
    pytest.param(
        BASE.replace("    device: d1-r1\n", "    device: d1-r7\n"),
        ["inv.yaml:28: link 'd1-tslcd': device: unknown device 'd1-r7'"],
        id="unknown-link-device",
    ),
    pytest.param(
        BASE.replace("    level: district\n", "    level: department\n"),
        ["inv.yaml:12: unit 'W1': parent: a commune's parent must be the province or a district, not department 'D1'"],
        id="commune-under-department",
    ),
    pytest.param(
        BASE.replace("    level: province\n", "    level: province\n    parent: D1\n"),
        [
            "inv.yaml:5: unit 'P': parent: a province has no parent unit",
            "inv.yaml:5: unit 'P': parent: parent chain is a cycle: P → D1 → P",
        ],
        id="province-with-parent",
    ),
    pytest.param(
        BASE.replace("    level: district\n    parent: P\n", "    level: district\n"),
        ["inv.yaml:5: unit 'D1': parent: a district needs a parent unit: the province"],
        id="district-without-parent",
    ),
    pytest.param(
        BASE.replace("    level: district\n    parent: P\n", "    level: district\n    parent: W1\n"),
        [
            "inv.yaml:8: unit 'D1': parent: a district's parent must be the province, not commune 'W1'",
            "inv.yaml:8: unit 'D1': parent: parent chain is a cycle: D1 → W1 → D1",
        ],
        id="unit-cycle",
    ),
    pytest.param(
        BASE.replace(
            "    address: 127.30.0.1\n    snmp: lab-v2c\n",
            "    address: 127.30.0.1\n    snmp: lab-v2c\n    parent: d1-r1\n",
        ),
        ["inv.yaml:19: device 'p-r1': parent: parent chain is a cycle: p-r1 → d1-r1 → p-r1"],
        id="device-cycle",
    ),
    pytest.param(
        BASE.replace("    parent: p-r1\n", "    parent: d1-r1\n"),
        ["inv.yaml:23: device 'd1-r1': parent: parent chain is a cycle: d1-r1 → d1-r1"],
        id="device-own-parent",
    ),
    pytest.param(
        BASE.replace("  - code: W1\n", "  - code: D1\n"),
        ["inv.yaml:9: unit 'D1': code: duplicate unit code (first at inv.yaml:5)"],
        id="duplicate-unit-code",
    ),
    pytest.param(
        BASE.replace("  - name: d1-r1\n", "  - name: p-r1\n"),
        [
            "inv.yaml:19: device 'p-r1': name: duplicate device name (first at inv.yaml:14)",
            "inv.yaml:28: link 'd1-tslcd': device: unknown device 'd1-r1'",
        ],
        id="duplicate-device-name",
    ),
    pytest.param(
        BASE.replace("  - name: d1-r1\n", "  - name: P-R1\n"),
        [
            (
                "inv.yaml:19: device 'P-R1': name: 'P-R1' differs from device 'p-r1' (inv.yaml:14) only in letter case:"
                " use one spelling"
            ),
            "inv.yaml:28: link 'd1-tslcd': device: unknown device 'd1-r1'",
        ],
        id="device-names-differing-only-in-case",
    ),
    pytest.param(
        BASE.replace("127.30.1.1", "127.30.0.1"),
        ["inv.yaml:22: device 'd1-r1': address: address 127.30.0.1 is already used by device 'p-r1' (inv.yaml:17)"],
        id="duplicate-address",
    ),
    pytest.param(
        BASE.replace("127.30.0.1", "'0:0:0:0:0:0:0:1'").replace("127.30.1.1", "'::01'"),
        ["inv.yaml:22: device 'd1-r1': address: address ::1 is already used by device 'p-r1' (inv.yaml:17)"],
        id="duplicate-address-canonical",
    ),
    pytest.param(
        BASE.replace("127.30.1.1", "'::ffff:127.30.0.1'"),
        ["inv.yaml:22: device 'd1-r1': address: address 127.30.0.1 is already used by device 'p-r1' (inv.yaml:17)"],
        id="duplicate-address-ipv4-mapped",
    ),
    pytest.param(
        BASE.replace("127.30.1.1", "127.30.1.300"),
        ["inv.yaml:22: device 'd1-r1': address: '127.30.1.300' is not an IPv4 or IPv6 address"],
        id="bad-address",
    ),
    pytest.param(
        BASE.replace("snmp: lab-v2c", "snmp: public"),
        [
            (
                "inv.yaml:18: device 'p-r1': snmp: not an SNMP profile of the config (it defines: lab-v2c, lab-v3);"
                " give a profile's name, never a community"
            )
        ],
        id="unknown-profile",
    ),
    pytest.param(
        BASE.replace("    device: d1-r1\n", ""),
        ["inv.yaml:28: link 'd1-tslcd': interface: an interface needs a device: name the device that has it"],
        id="interface-without-device",
    ),
    pytest.param(
        BASE.replace("    level: ward\n", "    level: hamlet\n"),
        ["inv.yaml:11: unit 'W1': level: Input should be 'province', 'department', 'district' or 'commune'"],
        id="bad-level",
    ),
    pytest.param(
        BASE.replace("    role: router\n    address: 127.30.1.1", "    role: modem\n    address: 127.30.1.1"),
        [
            (
                "inv.yaml:21: device 'd1-r1': role: Input should be 'router', 'switch', 'firewall', 'server', "
                "'vc_endpoint', 'workstation', 'access_point', 'ups' or 'other'"
            )
        ],
        id="bad-role",
    ),
    pytest.param(
        BASE.replace("    kind: tslcd\n", "    kind: vpn\n"),
        ["inv.yaml:26: link 'd1-tslcd': kind: Input should be 'lan', 'internet', 'wan', 'man' or 'tslcd'"],
        id="bad-kind",
    ),
    pytest.param(
        BASE.replace("    level: ward\n", "    level: ward\n    staff: many\n    color: red\n"),
        [
            "inv.yaml:12: unit 'W1': staff: Input should be a valid integer, unable to parse string as an integer",
            "inv.yaml:13: unit 'W1': color: unknown field",
        ],
        id="wrong-type-and-unknown-field",
    ),
    pytest.param(
        BASE.replace("  - name: d1-r1\n    unit: D1\n", "  - unit: D1\n"),
        [
            "inv.yaml:19: device #2: name: required field is missing",
            "inv.yaml:27: link 'd1-tslcd': device: unknown device 'd1-r1'",
        ],
        id="missing-field",
    ),
    pytest.param(
        BASE.replace("  - code: W1\n", "  - code: W 1\n"),
        [
            (
                "inv.yaml:9: unit 'W 1': code: must start with an ASCII letter or digit and hold only ASCII letters,"
                " digits and _ . : -"
            )
        ],
        id="bad-code",
    ),
    pytest.param(
        BASE + "switches: []\n",
        ["inv.yaml:30: switches: unknown list (expected units, devices, links, services)"],
        id="unknown-list",
    ),
    pytest.param(
        BASE.replace("    parent: D1\n", "    parent: D1\n    parent: P\n"),
        ["inv.yaml:13: units[2].parent: duplicate key (first at line 12)"],
        id="duplicate-yaml-key",
    ),
    pytest.param(
        "units: [\n",
        ["inv.yaml:2: YAML: did not find expected node content"],
        id="yaml-syntax",
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALIDATION_ERRORS)
def test_validation_error_messages(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert _errors(tmp_path, text) == expected


def test_every_error_is_reported_in_one_run(tmp_path: Path) -> None:
    text = (
        BASE.replace("    unit: D1\n    role: router", "    unit: D9\n    role: router")
        .replace("snmp: lab-v2c", "snmp: public")
        .replace("    level: ward\n", "    level: ward\n    type: hamlet\n")
        .replace("    device: d1-r1\n", "    device: nope\n")
    )
    errors = _errors(tmp_path, text)
    assert len(errors) == 4
    assert [e.split(":")[1] for e in errors] == ["12", "19", "21", "29"]


CSV_UNITS = 'code,name,level,parent,staff\nP,Tỉnh Sông Lam,province,,90\nD1,"Huyện\nLâm Sơn",district,P,40\n'


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "units.csv").write_text(CSV_UNITS + "W1,Xã Hòa Sơn,ward,D1,abc\n", encoding="utf-8")
    (folder / "devices.csv").write_text(
        "name,unit,role,address,colour\nr1,P,router,127.30.0.1,red\nr2,P,router\n", encoding="utf-8"
    )
    parsed = read_files([folder])
    errors = [str(issue).replace(str(folder) + "/", "") for issue in parsed.issues]
    assert errors == [
        "units.csv:5: unit 'W1': staff: Input should be a valid integer, unable to parse string as an integer",
        "devices.csv:1: column 'colour': unknown column for devices",
        "devices.csv:3: device #2: has 3 cells, the header has 5",
    ]


def test_an_unclosed_quote_in_a_csv_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text('code,name,level\nP,"Tỉnh Sông Lam,province\nD1,Huyện,district\n', encoding="utf-8")
    errors = [str(issue).replace(str(tmp_path) + "/", "") for issue in read_files([path]).issues]
    assert errors == [
        (
            'units.csv:2: unit #1: a quote (") opened on this line runs on to line 3; close it, or double a quote'
            " in a cell"
        )
    ]


def test_csv_file_needs_a_list_name(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(CSV_UNITS, encoding="utf-8")
    assert [i.message for i in read_files([path]).issues] == [
        "cannot tell the list from the name: call it one of units.csv, devices.csv, links.csv, services.csv"
    ]


@pytest.mark.parametrize(
    ("name", "content", "provided"),
    [
        pytest.param("inv.yaml", b"", [], id="empty-yaml"),
        pytest.param("inv.yml", b"# the units go here\n\n# and the devices\n", [], id="comment-only-yaml"),
        pytest.param("inv.yaml", b"units:\nlinks: []\n", ["units", "links"], id="yaml-with-empty-lists"),
        pytest.param("units.csv", b"", [], id="empty-csv"),
        pytest.param("units.csv", b"\xef\xbb\xbf\r\n", [], id="csv-with-only-a-bom"),
        pytest.param("units.csv", b"code,name,level\r\n", ["units"], id="csv-with-only-a-header"),
    ],
)
def test_a_file_without_records_is_named_in_a_warning(
    tmp_path: Path, name: str, content: bytes, provided: list[str]
) -> None:
    """An empty file read as "0 rows read" without a word; only a list it names may be pruned (to empty)."""
    path = tmp_path / name
    path.write_bytes(content)
    parsed = read_files([path])
    assert (parsed.issues, len(parsed)) == ([], 0)
    assert parsed.warnings == [f"{path}: holds no records (no row in any list)"]
    assert [kind.plural for kind in parsed.provided] == provided


def test_only_the_file_without_records_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text(CSV_UNITS, encoding="utf-8")
    (tmp_path / "links.csv").write_text("name,kind,unit\n", encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("units: [", encoding="utf-8")
    parsed = read_files([tmp_path, tmp_path / "broken.yaml"])
    assert parsed.warnings == [f"{tmp_path / 'links.csv'}: holds no records (no row in any list)"]
    assert len(parsed.issues) == 1  # the broken file is an error, not a file without records


EXCEL_CSV_UTF8 = "in Excel, use Save As with the type 'CSV UTF-8 (Comma delimited) (*.csv)'"


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes("code,name,level\nP,Tỉnh,province\n".encode("cp1258", errors="replace").replace(b"T", b"\x81"))
    issues = read_files([path]).issues
    assert [(i.line, i.message) for i in issues] == [(2, f"not UTF-8 (byte 18); {EXCEL_CSV_UTF8}")]
    yaml_path = tmp_path / "inv.yaml"
    yaml_path.write_bytes("units:\n  - {code: P, name: Ti\u0309nh}\n".encode("cp1258"))
    assert [(i.line, i.message) for i in read_files([yaml_path]).issues] == [
        (2, "not UTF-8 (byte 29); save the file as UTF-8")  # Excel's advice is for CSV files
    ]


def test_a_windows_code_page_csv_is_told_to_save_as_csv_utf8(tmp_path: Path) -> None:
    """Excel's plain 'CSV' on a Vietnamese Windows is Windows-1258: a tone mark is a combining byte."""
    path = tmp_path / "units.csv"
    path.write_bytes("code,name,level\nP,Ti\u0309nh Sông Lam,province\n".encode("cp1258"))
    assert [(i.line, i.message) for i in read_files([path]).issues] == [
        (2, f"not UTF-8 (byte 20): probably Excel's plain 'CSV', in a Windows code page; {EXCEL_CSV_UTF8}")
    ]


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415

    book = Workbook()
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _zip_bytes(**members: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return out.getvalue()


def _encrypted_zip() -> bytes:
    """An OpenDocument-like ZIP whose entries carry the encrypted flag (a password-protected archive)."""
    data = bytearray(_zip_bytes(mimetype="application/vnd.oasis.opendocument.spreadsheet"))
    data[6] |= 1  # the local file header's general-purpose flag: encrypted
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1  # and the central directory's, which zipfile reads
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "inv.yaml",
            _xlsx_bytes(),
            "this looks like an XLSX workbook, not a YAML file: name it inv.xlsx (netmon reads .xlsx workbooks)",
            id="xlsx-as-yaml",
        ),
        pytest.param(
            "units.csv",
            _xlsx_bytes(),
            "this looks like an XLSX workbook, not a CSV file: name it units.xlsx (netmon reads .xlsx workbooks)",
            id="xlsx-as-csv",
        ),
        pytest.param(
            "inv.yml",
            _zip_bytes(mimetype="application/vnd.oasis.opendocument.spreadsheet"),
            "this looks like an OpenDocument spreadsheet (.ods), not a YAML file: save it as .xlsx in LibreOffice",
            id="ods-as-yaml",
        ),
        pytest.param(
            "inv.yaml",
            _zip_bytes(**{"inv.yaml": "units: []\n"}),
            "this looks like a ZIP archive, not a YAML file: unpack it, then import the files it holds",
            id="zip-as-yaml",
        ),
        pytest.param(
            "units.csv",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "this looks like an old Excel workbook (.xls) or a password-protected one, not a CSV file: save it as"
            " .xlsx in Excel or LibreOffice, without a password",
            id="xls-as-csv",
        ),
        pytest.param(
            "inv.yaml",
            _encrypted_zip(),
            "this looks like a ZIP archive, not a YAML file: unpack it, then import the files it holds",
            id="encrypted-zip-as-yaml",  # zipfile raised RuntimeError reading its entry: a traceback
        ),
        pytest.param(
            "inv.yaml",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            "this looks like a PDF document, not a YAML file: netmon reads no PDF; import the spreadsheet the list"
            " is kept in",
            id="pdf-as-yaml",
        ),
        pytest.param(
            "devices.csv",
            b"\x89PNG\r\n\x1a\n" + bytes(24),
            "this looks like a PNG image, not a CSV file: netmon reads no image; import the spreadsheet the list"
            " is kept in",
            id="png-as-csv",
        ),
        pytest.param(
            "inv.yaml",
            gzip.compress(b"units: []\n"),
            "this looks like a gzip-compressed file, not a YAML file: unpack it first (gunzip), then import what"
            " it holds",
            id="gzip-as-yaml",
        ),
        pytest.param(
            "units.csv",
            "code\tname\tlevel\nP\tTỉnh\tprovince\n".encode("utf-16"),
            f"this looks like UTF-16 text (Excel's 'Unicode Text'), not a CSV file: {EXCEL_CSV_UTF8}",
            id="excel-unicode-text-as-csv",
        ),
    ],
)
def test_a_file_of_another_format_says_what_it_looks_like(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """It said "not UTF-8 (byte 22)": true, and no help to whoever renamed a workbook .yaml."""
    path = tmp_path / name
    path.write_bytes(content)
    parsed = read_files([path])
    assert [str(issue) for issue in parsed.issues] == [f"{path}: {message}"]
    assert (len(parsed), parsed.provided, parsed.warnings) == (0, {}, [])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("Xã\u202eHòa Sơn", "holds the invisible character U+202E; remove it", id="bidi-override"),
        pytest.param("Xã\u200bHòa", "holds the invisible character U+200B; remove it", id="zero-width-space"),
        pytest.param("Xã\u00a0Hòa\u2007Sơn", None, id="nbsp-becomes-a-space"),
        pytest.param("Xã\\nHòa\\tSơn", None, id="a-line-break-becomes-a-space"),
    ],
)
def test_a_unit_name_has_no_invisible_characters(tmp_path: Path, name: str, expected: str | None) -> None:
    text = BASE.replace("    name: Xã Hòa Sơn\n", f'    name: "{name}"\n')
    if expected is None:
        assert _plan(tmp_path, text).desired.units["W1"].name == "Xã Hòa Sơn"
    else:
        assert _errors(tmp_path, text) == [f"inv.yaml:10: unit 'W1': name: {expected}"]


def _load_example() -> Inventory:
    return make_plan(EMPTY, read_files([EXAMPLE_INVENTORY]), profiles=PROFILES, prune=False).desired


def test_yaml_round_trip_is_lossless(tmp_path: Path) -> None:
    inventory = _load_example()
    write_yaml(inventory, tmp_path / "out.yaml")
    again = make_plan(EMPTY, read_files([tmp_path / "out.yaml"]), profiles=PROFILES, prune=False).desired
    assert again == inventory
    assert list(again.devices) == list(inventory.devices)
    assert render_yaml(again) == render_yaml(inventory)


def test_csv_round_trip_is_lossless(tmp_path: Path) -> None:
    inventory = _load_example()
    written = write_csv(inventory, tmp_path / "csv")
    assert sorted(p.name for p in written) == ["devices.csv", "links.csv", "services.csv", "units.csv"]
    again = make_plan(EMPTY, read_files([tmp_path / "csv"]), profiles=PROFILES, prune=False).desired
    assert again == inventory


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.text(max_size=10), st.lists(st.text(max_size=5), max_size=3)
)
_fields = st.sampled_from(
    [
        *("code", "name", "level", "parent", "unit", "role", "address", "kind", "device", "tags", "staff", "x"),
        *("check", "url", "expect_status", "body_match", "timeout", "tls_verify"),
    ]
)
_rows = st.lists(st.dictionaries(_fields, _values, max_size=6) | _values, max_size=4)
_docs = (
    st.dictionaries(st.sampled_from(["units", "devices", "links", "services", "other"]), _rows | _values, max_size=3)
    | _values
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_docs)
def test_any_document_gives_a_plan_or_an_inventory_error(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        make_plan(EMPTY, read_files([path]), profiles=PROFILES, prune=False)
    except InventoryError as exc:
        assert exc.issues
        assert all(issue.source == str(path) for issue in exc.issues)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param("::ffff:192.0.2.7", "192.0.2.7", id="ipv4-mapped"),
        pytest.param("::FFFF:c000:0207", "192.0.2.7", id="ipv4-mapped-hex"),
        pytest.param("192.0.2.7", "192.0.2.7", id="ipv4"),
        pytest.param("2001:db8::7", "2001:db8::7", id="ipv6"),
        pytest.param("::192.0.2.7", "::c000:207", id="ipv4-compatible-is-not-mapped"),
    ],
)
def test_ipv4_mapped_addresses_are_stored_as_ipv4(given: str, stored: str) -> None:
    device = DeviceSpec(name="d", unit="U", role="router", address=given)
    assert device.address == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param("0.0.0.0", "'0.0.0.0' is not the address of one device", id="placeholder"),  # noqa: S104 (data)
        pytest.param("::", "'::' is not the address of one device", id="ipv6-unspecified"),
        pytest.param("224.0.0.1", "'224.0.0.1' is not the address of one device", id="multicast"),
        pytest.param("ff02::1", "'ff02::1' is not the address of one device", id="ipv6-multicast"),
        pytest.param("255.255.255.255", "'255.255.255.255' is not the address of one device", id="broadcast"),
        pytest.param("::ffff:0.0.0.0", "'::ffff:0.0.0.0' is not the address of one device", id="mapped-placeholder"),
        pytest.param("::1%lo", "'::1%lo': an address with a zone (%lo) cannot be polled", id="zone"),
    ],
)
def test_an_address_no_device_answers_on_is_refused(given: str, message: str) -> None:
    """0.0.0.0 (a placeholder) timed out for ever; '::1%lo' made every ping round a 'poller error: ValueError'."""
    with pytest.raises(ValidationError, match=re.escape(message)):
        DeviceSpec(name="d", unit="U", role="router", address=given)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        pytest.param("1.000", "'1.000' is not a whole number", id="vi-VN-thousands"),
        pytest.param("10.000", "'10.000' is not a whole number", id="vi-VN-ten-thousands"),
        pytest.param("1,000", "'1,000' is not a whole number", id="en-US-thousands"),
        pytest.param("1 000", "'1 000' is not a whole number", id="space-thousands"),
        pytest.param("1.000.000", "'1.000.000' is not a whole number", id="vi-VN-millions"),
        pytest.param("-5", "greater than or equal to 0", id="negative"),
        pytest.param("12.5", "valid integer", id="a-fraction"),
    ],
)
def test_a_count_with_a_thousands_separator_is_refused(tmp_path: Path, cell: str, message: str) -> None:
    """A vi-VN Excel saves 1000 as "1.000": it imported as capacity 1 Mbps (and staff 1) without a word."""
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "links.csv").write_text(
        f"\ufeffname;kind;unit;device;capacity_mbps\r\nl1;lan;U;d;{cell}\r\n", encoding="utf-8", newline=""
    )
    issues = read_files([folder]).issues
    assert [(issue.line, issue.where) for issue in issues] == [(2, "link 'l1': capacity_mbps")]
    assert message in issues[0].message


@pytest.mark.parametrize(("cell", "count"), [("1000", 1000), ("12.0", 12), ("100,0", None), (" 7 ", 7)])
def test_a_count_without_thousands_separators_is_read(tmp_path: Path, cell: str, count: int | None) -> None:
    """ "12.0" (a number cell saved with a decimal) is 12: only digits grouped by threes are ambiguous."""
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "links.csv").write_text(f"name;kind;unit;device;capacity_mbps\nl1;lan;U;d;{cell}\n", encoding="utf-8")
    found = read_files([folder])
    if count is None:  # "100,0" is no number pydantic reads: its own error, not the separator hint
        assert [issue.where for issue in found.issues] == ["link 'l1': capacity_mbps"]
        assert "without separators" not in found.issues[0].message
    else:
        assert found.issues == []
        assert [record.spec.capacity_mbps for record in found.records[LinkSpec]] == [count]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ("    parent: D1\n", "    parent: D1\n    valid_from: 01/07/2025\n"),
            "inv.yaml:13: unit 'W1': valid_from: must be a date written YYYY-MM-DD, e.g. 2025-07-01",
            id="a-date-day-first",
        ),
        pytest.param(
            ("  - code: W1\n", "  - code: 0123\n"),
            "inv.yaml:9: unit #3: code: must be text: in YAML, quote a value such as 0123, 1.10 or ON that YAML"
            " reads as a number or yes/no",
            id="a-code-yaml-reads-as-a-number",
        ),
    ],
)
def test_input_mistakes_are_said_in_the_operators_words(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    """pydantic said "invalid character in year" and "Input should be a valid string"."""
    path = tmp_path / "inv.yaml"
    path.write_text(BASE.replace(*change, 1), encoding="utf-8")
    assert [str(issue).replace(str(tmp_path) + "/", "") for issue in read_files([path]).issues] == [expected]


@pytest.mark.parametrize(("written", "staff"), [("1.000", None), ("12.500", None), ("12.0", 12), ("12.5", None)])
def test_a_yaml_count_written_with_a_thousands_dot_is_refused(tmp_path: Path, written: str, staff: int | None) -> None:
    """YAML reads a plain `staff: 1.000` as the float 1.0, which a count took as 1: now refused by name."""
    path = tmp_path / "inv.yaml"
    path.write_text(
        f"units:\n  - code: P\n    name: Tỉnh\n    level: province\n    staff: {written}\n", encoding="utf-8"
    )
    found = read_files([path])
    if staff is None:
        assert [(issue.line, issue.where) for issue in found.issues] == [(5, "unit 'P': staff")]
        grouped = written.count(".") == 1 and len(written.partition(".")[2]) == 3
        assert ("without separators" in found.issues[0].message) is grouped
    else:
        assert found.issues == []
        assert [record.spec.staff for record in found.records[UnitSpec]] == [staff]  # type: ignore[attr-defined]
