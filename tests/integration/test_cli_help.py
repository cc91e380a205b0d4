"""The CLI's shape: light --help, --config before or after the command, no config found, help wording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from tests.conftest import EXAMPLE_CONFIG

#: Modules that `netmon --help` and `--version` must not import (they cost most of the start-up).
HEAVY = (
    "netmon.daemon",
    "sqlalchemy",
    "sqlmodel",
    "aiohttp",
    "alembic",
    "openpyxl",
    "xlsxwriter",
    "matplotlib",
    "rich.progress",
)

PROBE = """
import sys
from netmon.cli import main
sys.argv = ["netmon", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {h.split(".")[0] for h in HEAVY} and
               any(m == h or m.startswith(h + ".") for h in HEAVY))
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["inventory", "--help"], ["run", "--help"]], ids=" ".join)
def test_help_and_version_import_no_heavy_module(args: list[str]) -> None:
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, timeout=60)
    heavy = done.stderr.rsplit("HEAVY:", 1)[1].strip()
    assert heavy == "", f"{' '.join(args)} imported {heavy}"
    assert done.stdout


def test_the_probe_would_see_a_heavy_import() -> None:
    code = f"HEAVY = {HEAVY!r}\nimport sqlalchemy\n{PROBE}"
    done = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.stderr.rsplit("HEAVY:", 1)[1].strip().startswith("sqlalchemy")


@pytest.mark.parametrize(
    "args",
    [
        ["--config", str(EXAMPLE_CONFIG), "check-config", "--json"],
        ["-c", str(EXAMPLE_CONFIG), "check-config", "--json"],
        ["check-config", "--config", str(EXAMPLE_CONFIG), "--json"],
        ["check-config", "-c", str(EXAMPLE_CONFIG), "--json"],
    ],
    ids=["long-before", "short-before", "long-after", "short-after"],
)
def test_config_before_or_after_the_command(args: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, args, env={"NETMON_CONFIG": None})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["source"] == str(EXAMPLE_CONFIG)


def test_config_after_the_command_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text("timezone: UTC\n", encoding="utf-8")
    args = ["--config", str(EXAMPLE_CONFIG), "check-config", "--config", str(other), "--json"]
    result = CliRunner().invoke(app, args, env={"NETMON_CONFIG": None})
    assert json.loads(result.stdout)["source"] == str(other)


def test_the_global_config_does_not_leak_into_the_next_invocation(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["-c", str(EXAMPLE_CONFIG), "check-config"], env={"NETMON_CONFIG": None}).exit_code == 0
    assert runner.invoke(app, ["check-config"], env={"NETMON_CONFIG": None}).exit_code == 2


@pytest.mark.parametrize("command", [["check-config"], ["db", "upgrade"], ["inventory", "list"], ["outages", "list"]])
def test_no_config_found_names_the_paths_and_creates_nothing(command: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command, env={"NETMON_CONFIG": None})
    assert result.exit_code == 2
    assert "no config found" in result.stderr
    for tried in ("--config", "$NETMON_CONFIG", "./netmon.yaml", "/etc/netmon/netmon.yaml"):
        assert tried in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_netmon_yaml_in_the_current_folder_is_found(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "netmon.yaml").write_text("timezone: UTC\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check-config", "--json"], env={"NETMON_CONFIG": None})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["source"] == "netmon.yaml"


TYPE_NAMES = ("{files}", "<list[Path]>", "<float range>", "PATH", "TEXT", "FLOAT", "INTEGER")
ALL_HELP = [
    [],
    ["check-config"],
    ["db"],
    ["db", "upgrade"],
    ["inventory"],
    ["inventory", "import"],
    ["inventory", "export"],
    ["inventory", "list"],
    ["inventory", "show"],
    ["poll"],
    ["run"],
    ["outages"],
    ["outages", "list"],
    ["export"],
    ["export", "indicators"],
    ["report"],
    ["lab"],
    ["lab", "up"],
    ["lab", "down"],
    ["lab", "status"],
]


@pytest.mark.parametrize("command", ALL_HELP, ids=lambda c: " ".join(c) or "netmon")
def test_help_names_values_not_types_and_has_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"NETMON_CONFIG": None, "COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example: netmon " in result.stdout
    for name in TYPE_NAMES:
        assert name not in result.stdout, f"{name} in the help of {' '.join(command)}"


def test_top_level_help_shows_whole_summaries() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "100"})
    commands = result.stdout.split("Commands:", 1)[1].splitlines()
    assert len(commands) >= 8
    assert [line for line in commands if line.endswith(("...", "…"))] == []
