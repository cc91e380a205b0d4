"""Every `Example:` in every `--help` runs, as printed, and succeeds.

The examples run through the console script in a scratch folder holding copies of the example
config and inventory (the config's relative paths then land in that folder), with the lab's port,
the HTTP port and the MQTT topic prefix made unique so that parallel runs do not meet.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from netmon.cli import app
from tests.conftest import EXAMPLE_CONFIG, EXAMPLE_INVENTORY, free_udp_port

_EXAMPLE = re.compile(r"^\s*Example: (netmon .+?)\s*$", re.MULTILINE)


def _helps(group: typer.Typer, prefix: list[str]) -> Iterator[tuple[list[str], str]]:
    """Yield (command path, help text) for the group itself and every command below it."""
    yield prefix, group.info.help or ""
    for command in group.registered_commands:
        name = command.name or ""
        yield [*prefix, name], (command.callback.__doc__ or "") if command.callback else ""
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        yield from _helps(sub.typer_instance, [*prefix, sub.name or ""])


def help_examples() -> list[str]:
    """Every example line of every help text, as printed."""
    found = [match for _, text in _helps(app, []) for match in _EXAMPLE.findall(text)]
    return list(dict.fromkeys(found))


def _setup_rank(example: str) -> int | None:
    """The rank of a set-up example (schema, inventory, lab), or None for the others."""
    for rank, start in enumerate(("netmon db upgrade", "netmon inventory import", "netmon lab up")):
        if example.startswith(start) and "--dry-run" not in example:
            return rank
    return None


def _command(example: str) -> str:
    """The first command word of an example: `netmon --config X inventory list` gives `inventory`."""
    words = shlex.split(example)[1:]
    while words and words[0].startswith("-"):
        words = words[2:] if "=" not in words[0] else words[1:]
    return words[0] if words else ""


# The examples run in groups, each on its own scratch database and lab, so that the xdist workers
# share them. A group names command words; a command that no group names joins the last group.
# Examples that depend on each other (token create, list, revoke) share a command word, hence a group.
_GROUPS: tuple[tuple[str, ...], ...] = (
    ("run", "audit", "check-config", "discover"),
    ("report", "export", "inventory"),
    ("poll", "outages", "token", "web", "lab"),
)


def example_groups() -> list[list[str]]:
    """The examples to run in each group, in order: the set-up examples head every group, and
    `netmon lab down` ends every group (the test also runs it on failure).

    Each example other than set-up and teardown is in exactly one group.
    """
    examples = help_examples()
    setup = sorted((e for e in examples if _setup_rank(e) is not None), key=lambda e: (_setup_rank(e), e))
    teardown = [e for e in examples if e.startswith("netmon lab down")]
    groups: list[list[str]] = [[] for _ in _GROUPS]
    for example in sorted(examples):
        if example in setup or example in teardown:
            continue
        command = _command(example)
        index = next((i for i, words in enumerate(_GROUPS) if command in words), len(_GROUPS) - 1)
        groups[index].append(example)
    return [[*setup, *group, *teardown] for group in groups]


def test_every_help_has_examples_to_run() -> None:
    examples = help_examples()
    commands = [path for path, _ in _helps(app, []) if path]
    assert len(examples) >= len(commands)
    assert all(e.startswith("netmon ") for e in examples)


def test_every_help_example_is_run_by_a_group() -> None:
    grouped = [e for group in example_groups() for e in group]
    assert set(grouped) == set(help_examples())
    assert _command("netmon --config config/netmon.example.yaml inventory list --level commune") == "inventory"


@pytest.mark.parametrize("group", range(len(_GROUPS)), ids=[words[0] for words in _GROUPS])
def test_every_help_example_succeeds(group: int, tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace("port: 16161", f"port: {free_udp_port('127.0.0.1')}")
    text = text.replace("listen: 127.0.0.1:9105", "listen: 127.0.0.1:0")
    text = text.replace("topic_prefix: netmon", f"topic_prefix: test-{uuid.uuid4().hex[:8]}")
    config = tmp_path / "config" / "netmon.example.yaml"
    config.write_text(text, encoding="utf-8")
    shutil.copy(EXAMPLE_INVENTORY, tmp_path / "config" / "inventory.example.yaml")
    netmon = shutil.which("netmon", path=str(Path(sys.executable).parent))
    assert netmon is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETMON_")}
    env["NETMON_CONFIG"] = str(config)
    failures: list[str] = []
    examples = example_groups()[group]
    try:
        for example in examples:
            args = shlex.split(example)[1:]
            done = subprocess.run(
                [netmon, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120
            )
            if done.returncode != 0:
                failures.append(f"{example}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
    finally:
        subprocess.run([netmon, "lab", "down"], cwd=tmp_path, env=env, capture_output=True, check=False, timeout=60)
    assert failures == []
    if any(e.startswith("netmon export indicators") and "q3.xlsx" in e for e in examples):
        assert (tmp_path / "q3.xlsx").stat().st_size > 0
    if any(e.startswith("netmon inventory export") for e in examples):
        assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
            "devices.csv",
            "links.csv",
            "services.csv",
            "units.csv",
        ]
