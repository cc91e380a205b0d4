"""The netmon CLI: exit codes, help, JSON output and messages, against a real database."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from netmon import __version__
from netmon.cli import app
from netmon.inventory import schema
from tests.conftest import EXAMPLE_CONFIG, EXAMPLE_INVENTORY

COMMANDS = [
    ["check-config"],
    ["db", "upgrade"],
    ["inventory", "import"],
    ["inventory", "export"],
    ["inventory", "list"],
    ["inventory", "show"],
    ["run"],
    ["outages", "list"],
    ["export", "indicators"],
]


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    """The example config pointed at this test's database."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("url: sqlite:///var/netmon.db", f"url: {db_url}")
    path = tmp_path / "netmon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"NETMON_CONFIG": None})


@pytest.fixture
def loaded(config: Path) -> Path:
    assert run("db", "upgrade", "--config", config).exit_code == 0
    assert run("inventory", "import", EXAMPLE_INVENTORY, "--config", config).exit_code == 0
    return config


def test_console_script_version() -> None:
    netmon = shutil.which("netmon", path=str(Path(sys.executable).parent))
    assert netmon is not None
    done = subprocess.run([netmon, "--version"], capture_output=True, text=True, check=False, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, f"netmon {__version__}")


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_explains_itself_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example: netmon " in result.stdout
    assert "--config" in result.stdout


def test_check_config_json_is_redacted() -> None:
    result = run("check-config", "--config", EXAMPLE_CONFIG, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["config"]["snmp_profiles"]["lab-v2c"]["community"] == "***"
    assert "netmon-lab" not in result.stdout


def test_bad_config_exits_2_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("http:\n  listne: 1\n", encoding="utf-8")
    result = run("check-config", "--config", path)
    assert result.exit_code == 2
    assert f"{path}:2: http.listne: unknown key" in result.stderr


def test_config_comes_from_the_environment_too(config: Path) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"NETMON_CONFIG": str(config)})
    assert result.exit_code == 0, result.stderr
    assert f"schema empty → {schema.HEAD}" in result.stdout


def test_commands_need_a_migrated_database(config: Path) -> None:
    result = run("inventory", "list", "--config", config)
    assert result.exit_code == 1
    assert "run `netmon db upgrade`" in result.stderr


def test_unreachable_database_exits_1_without_the_password(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text("database:\n  url: postgresql://netmon:pw-9137@127.0.0.1:1/test\n", encoding="utf-8")
    result = run("db", "upgrade", "--config", path)
    assert result.exit_code == 1
    assert "cannot read the schema version" in result.stderr
    assert "pw-9137" not in result.stderr + result.stdout


def test_dry_run_then_import(config: Path) -> None:
    run("db", "upgrade", "--config", config)
    dry = run("inventory", "import", EXAMPLE_INVENTORY, "--dry-run", "--config", config)
    assert dry.exit_code == 0
    assert "+ unit SL" in dry.stdout
    assert "would change: 147 to create" in dry.stdout
    assert json.loads(run("inventory", "list", "--json", "--config", config).stdout) == []
    real = run("inventory", "import", EXAMPLE_INVENTORY, "--config", config, "--json")
    assert len(json.loads(real.stdout)["changes"]) == 147
    again = run("inventory", "import", EXAMPLE_INVENTORY, "--config", config)
    assert "imported: 0 to create, 0 to update, 0 to delete, 147 unchanged" in again.stdout


def test_bad_inventory_exits_2_with_every_error(loaded: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "devices:\n  - {name: x1, unit: NOPE, role: router, address: 127.32.0.1}\n"
        "  - {name: x2, unit: SL, role: router, address: 127.32.0.300}\n",
        encoding="utf-8",
    )
    result = run("inventory", "import", path, "--config", loaded)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "netmon: 2 inventory errors:",
        f"  {path}:2: device 'x1': unit: unknown unit 'NOPE'",  # by line, whatever check found it
        f"  {path}:3: device 'x2': address: '127.32.0.300' is not an IPv4 or IPv6 address",
    ]


def test_list_filters_and_json(loaded: Path) -> None:
    result = run("inventory", "list", "--level", "commune", "--role", "router", "--json", "--config", loaded)
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 12  # since 2025-07-01 the former districts' core routers are in communes too
    assert {(r["level"], r["role"]) for r in rows} == {("commune", "router")}
    table = run("inventory", "list", "--unit", "SL-LG", "--config", loaded)
    assert "sl-h01-core-r1" in table.stdout
    assert "sl-h02-core-r1" not in table.stdout
    assert run("inventory", "list", "--level", "village", "--config", loaded).exit_code == 2
    assert run("inventory", "list", "--unit", "NOPE", "--config", loaded).exit_code == 2


def test_list_and_show_services(loaded: Path) -> None:
    rows = json.loads(run("inventory", "list", "--services", "--json", "--config", loaded).stdout)
    assert [(r["name"], r["check"]) for r in rows] == [
        ("sl-portal", "http"),
        ("sl-dichvucong", "http"),
        ("sl-mail-smtp", "tcp"),
        ("sl-vc-sip", "tcp"),
        ("sl-vc-h323", "tcp"),
    ]
    vpub = json.loads(run("inventory", "list", "--services", "--unit", "SL-VPUB", "--json", "--config", loaded).stdout)
    assert [(r["name"], r["expect_status"], r["level"]) for r in vpub] == [("sl-dichvucong", "200-299", "department")]
    table = run("inventory", "list", "--services", "--config", loaded).stdout
    assert "127.20.1.20:5060" in table
    assert "5 services" in table
    shown = json.loads(run("inventory", "show", "sl-vc-sip", "--json", "--config", loaded).stdout)
    assert (shown["type"], shown["device"], shown["address"]) == ("service", "sl-ubnd-vc1", "127.20.1.20:5060")
    assert run("inventory", "list", "--services", "--unit", "NOPE", "--config", loaded).exit_code == 2


def test_show_device_unit_link_and_unknown(loaded: Path) -> None:
    device = json.loads(run("inventory", "show", "sl-h01-x01-r1", "--json", "--config", loaded).stdout)
    assert device["type"] == "device"
    assert device["upstream"] == ["sl-h01-core-r1", "sl-ubnd-core-r1"]
    assert [u["level"] for u in device["unit_path"]] == ["province", "commune"]  # two-tier since 2025-07-01
    unit = json.loads(run("inventory", "show", "SL-H01", "--json", "--config", loaded).stdout)
    assert unit["type"] == "unit"
    assert len(unit["children"]) == 3
    commune = json.loads(run("inventory", "show", "SL-LG", "--json", "--config", loaded).stdout)
    assert (commune["type"], commune["commune_type"], commune["level"]) == ("unit", "phường", "commune")
    text = run("inventory", "show", "SL-H01", "--config", loaded).stdout
    assert "Thành phố Lam Giang" in text
    missing = run("inventory", "show", "nope", "--config", loaded)
    assert (missing.exit_code, missing.stderr.strip()) == (2, "netmon: no device, link, unit or service called 'nope'")


def test_export_yaml_and_csv_reimport_cleanly(loaded: Path, tmp_path: Path) -> None:
    assert run("inventory", "export", "-o", tmp_path / "inv.yaml", "--config", loaded).exit_code == 0
    assert run("inventory", "export", "--format", "csv", "-o", tmp_path / "csv", "--config", loaded).exit_code == 0
    stdout = run("inventory", "export", "-o", "-", "--config", loaded).stdout
    assert stdout == (tmp_path / "inv.yaml").read_text(encoding="utf-8")
    for source in (tmp_path / "inv.yaml", tmp_path / "csv"):
        result = run("inventory", "import", source, "--prune", "--config", loaded)
        assert "0 to create, 0 to update, 0 to delete" in result.stdout


def test_an_empty_file_is_said_and_prune_will_not_empty_a_list_unasked(loaded: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    result = run("inventory", "import", empty, "--prune", "--config", loaded)
    assert result.exit_code == 0  # nothing to import is no change, as re-importing is
    assert f"warning: {empty}: holds no records (no row in any list)" in result.stderr
    assert "0 to delete" in result.stdout
    links = tmp_path / "links.csv"
    links.write_text("\ufeffname,kind,unit,device,interface\n", encoding="utf-8")
    before = run("inventory", "export", "-o", "-", "--config", loaded).stdout
    refused = run("inventory", "import", links, "--prune", "--config", loaded)
    assert refused.exit_code == 2
    assert f"{links}:1: links: --prune would delete every stored link (" in refused.stderr
    assert "add --allow-empty if that is what you want" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    assert run("inventory", "export", "-o", "-", "--config", loaded).stdout == before
    allowed = run("inventory", "import", links, "--prune", "--allow-empty", "--config", loaded)
    assert allowed.exit_code == 0, allowed.stderr
    assert "links: []" in run("inventory", "export", "-o", "-", "--config", loaded).stdout


def test_a_csv_export_removes_the_services_csv_of_an_earlier_one(loaded: Path, tmp_path: Path) -> None:
    """A stale services.csv stayed beside the new files, and an import of the folder brought the services back."""
    folder = tmp_path / "csv"
    assert run("inventory", "export", "-f", "csv", "-o", folder, "--config", loaded).exit_code == 0
    assert (folder / "services.csv").exists()
    services = tmp_path / "services.csv"
    services.write_text("\ufeffname,unit,check,url\n", encoding="utf-8")
    emptied = run("inventory", "import", services, "--prune", "--allow-empty", "--config", loaded)
    assert emptied.exit_code == 0, emptied.stderr
    again = run("inventory", "export", "-f", "csv", "-o", folder, "--config", loaded)
    assert again.exit_code == 0, again.stderr
    assert f"note: removed {folder / 'services.csv'}: the inventory has no services any more" in again.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["devices.csv", "links.csv", "units.csv"]


EXPORTS = [
    pytest.param(["inventory", "export", "-o", "{out}.yaml"], ["{out}.yaml"], id="inventory-yaml"),
    pytest.param(["inventory", "export", "-f", "xlsx", "-o", "{out}.xlsx"], ["{out}.xlsx"], id="inventory-xlsx"),
    pytest.param(
        ["inventory", "export", "-f", "csv", "-o", "{out}"],
        ["{out}/units.csv", "{out}/devices.csv", "{out}/links.csv", "{out}/services.csv"],
        id="inventory-csv",
    ),
    pytest.param(["export", "indicators", "-p", "live", "-o", "{out}.csv"], ["{out}.csv"], id="indicators"),
    pytest.param(["discover", "127.0.0.1/32", "-o", "{out}.yaml"], ["{out}.yaml"], id="discover"),
]


@pytest.mark.parametrize(("args", "files"), EXPORTS)
def test_an_export_says_which_file_it_replaced(loaded: Path, tmp_path: Path, args: list[str], files: list[str]) -> None:
    """-o replaced an existing file without a word; it still replaces it (scripts rely on it), and says so."""
    out = tmp_path / "out"
    command = [arg.format(out=out) for arg in args]
    first = run(*command, "--config", loaded)
    assert first.exit_code == 0, first.stderr
    assert "replaced" not in first.stderr
    paths = [Path(name.format(out=out)) for name in files]
    for path in paths:
        path.write_text("old\n", encoding="utf-8")
    again = run(*command, "--config", loaded)
    assert again.exit_code == 0, again.stderr
    assert [line for line in again.stderr.splitlines() if "replaced" in line] == [
        f"note: replaced the existing file {path}" for path in paths
    ]
    assert all(path.read_text(encoding="utf-8", errors="replace") != "old\n" for path in paths)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["inventory", "list", "--json"], id="inventory-list"),
        pytest.param(["export", "indicators", "-p", "live", "-f", "json", "-o", "-"], id="export-indicators"),
    ],
)
def test_level_ward_is_read_as_commune_as_the_api_reads_it(loaded: Path, command: list[str]) -> None:
    """The API and the files read `ward` as commune (Level's own lookup); the CLI's --level refused it."""
    commune = run(*command, "--level", "commune", "--config", loaded)
    ward = run(*command, "--level", "Ward", "--config", loaded)
    assert (ward.exit_code, commune.exit_code) == (0, 0), ward.stderr
    assert json.loads(commune.stdout)
    assert _rows(json.loads(ward.stdout)) == _rows(json.loads(commune.stdout))
    wrong = run(*command, "--level", "xa", "--config", loaded)
    assert wrong.exit_code == 2
    assert "expected one of province, department, district, commune (ward is read as commune), not 'xa'" in wrong.stderr


def _rows(document: Any) -> Any:
    """A listing, or an export's level and rows (not the times it stamps on itself)."""
    return (document["level"], document["rows"]) if isinstance(document, dict) else document


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["inventory", "list"], id="inventory-list"),
        pytest.param(["inventory", "list", "--services"], id="inventory-list-services"),
        pytest.param(["outages", "list"], id="outages-list"),
        pytest.param(["discover", "127.0.0.1/32"], id="discover"),
    ],
)
def test_an_unknown_unit_code_is_said_one_way(loaded: Path, command: list[str]) -> None:
    """outages list said "no unit called", inventory list "no unit with code": one wording, from one place."""
    result = run(*command, "--unit", "NOPE", "--config", loaded)
    assert (result.exit_code, result.stderr) == (2, "netmon: no unit with code 'NOPE'\n")
    assert result.stdout == ""
