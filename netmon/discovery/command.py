"""`netmon discover`: the command's work apart from option parsing (the CLI module registers it)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from netmon.config import Config
from netmon.discovery.run import Discovery, discover
from netmon.discovery.sweep import parse_networks
from netmon.errors import PollError
from netmon.inventory.files import atomic_write
from netmon.inventory.spec import Inventory

__all__ = ["as_json", "render_text", "run_discovery", "write_proposal"]

_NO_SOCKET = (
    "cannot open an ICMP socket for the sweep: run as root, give the interpreter CAP_NET_RAW, or allow "
    "unprivileged ICMP (sysctl -w net.ipv4.ping_group_range='0 2147483647')"
)


def run_discovery(
    config: Config,
    inventory: Inventory,
    networks: Sequence[str],
    *,
    profiles: Sequence[str] | None,
    rate: float | None,
    root: str | None,
    unit: str | None,
    progress: Callable[[int, int, int], None] | None = None,
) -> Discovery:
    """Parse *networks* and run one discovery.

    Raises:
        InputError: a network is malformed, too large, or outside `discovery.allowed`; a profile is unknown.
        PollError: no ICMP socket may be opened.
    """
    parsed = parse_networks(networks)
    try:
        return asyncio.run(
            discover(
                config,
                inventory,
                parsed,
                profiles=profiles,
                rate=rate,
                root=root,
                unit=unit,
                progress=progress,
            )
        )
    except PermissionError as exc:
        raise PollError(_NO_SOCKET) from exc


def write_proposal(discovery: Discovery, path: Path) -> None:
    """Write the proposal as an inventory YAML file, atomically."""
    header = "# Proposed by `netmon discover`: review, then `netmon inventory import THIS --dry-run`.\n" + "".join(
        f"# {note}\n" for note in discovery.report.notes
    )
    body = yaml.safe_dump(discovery.report.proposal(), allow_unicode=True, sort_keys=False)
    atomic_write(path, header + body)


def render_text(discovery: Discovery) -> list[str]:
    """Return the human report: hosts, guesses with reasons, the tree, and the findings."""
    report = discovery.report
    identified = sum(f.guess is not None for f in discovery.found.values())
    lines = [f"{len(discovery.answered)} hosts answered; {identified} identified over SNMP"]
    for name, guess in sorted(report.guesses.items(), key=lambda item: ipaddress.ip_address(item[1]["address"])):
        what = guess["role"] + (f", {guess['vendor']}" if guess["vendor"] else "")
        what += f" {guess['model']}" if guess["model"] else ""
        lines.append(f"  {guess['address']:<16} {name:<24} {what} (profile {guess['profile']})")
        lines.extend(f"      because {reason}" for reason in guess["reasons"])
    lines.extend(f"note: {note}" for note in report.notes)
    if report.findings:
        lines.append("differences from the inventory:")
        lines.extend(f"  {finding}" for finding in report.findings)
    else:
        lines.append("the network matches the inventory")
    return lines


def as_json(discovery: Discovery) -> dict[str, Any]:
    """Return the whole discovery as JSON-ready data."""
    return {
        "answered": list(discovery.answered),
        "root": discovery.root,
        "root_reason": discovery.root_reason,
        "edges": [vars(edge) for edge in discovery.edges],
        **discovery.report.to_dict(),
    }
