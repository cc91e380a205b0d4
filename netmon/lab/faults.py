"""The fault lab: simulated sites in network namespaces behind veth links, in 198.18.0.0/15.

Each site is a namespace with one veth link to the host (site N: host 198.18.N.1/30, site
198.18.N.2/30) and optionally its own snmpd. Faults: link down, loss (nftables inside the site,
deterministic every n-th echo, or netem where the kernel has it), latency (netem), agent stopped.

While the lab is up the host holds `unreachable 198.18.0.0/15`, so a site whose link is down is
unreachable, never routed out of the machine. Needs root and `ip`; `available()` says why not.

198.18.0.0/15 and its guard route are machine-wide, so labs of different processes (two checkouts'
test runs, a benchmark beside the tests) take turns through `lab_lock()`; labs of one process share it.
"""

from __future__ import annotations

import fcntl
import gzip
import ipaddress
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from netmon.config import SnmpProfile
from netmon.lab.agents import AgentSpec, LabError, RunningAgent, start_agent, stop_agent

__all__ = ["LAB_NETWORK", "FaultLab", "Site", "available", "lab_lock", "lab_network", "netem_available", "run_ip"]

LAB_NETWORK = ipaddress.ip_network("198.18.0.0/15")
_IP_TIMEOUT = 10.0
#: The machine-wide lock file of 198.18.0.0/15, and the longest wait for it (seconds).
LOCK_PATH = Path("/run/lock/netmon-lab-198.18.lock")
LOCK_WAIT = 900.0
_held = {"count": 0}
_held_lock = threading.Lock()
_held_file: list[int] = []


@contextmanager
def lab_lock(wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the machine-wide lock of 198.18.0.0/15; re-entrant within a process.

    Raises:
        LabError: another process held it for longer than *wait* seconds.
    """
    with _held_lock:
        if _held["count"] == 0:
            LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        os.close(fd)
                        raise LabError(f"another lab held {LOCK_PATH} for over {wait:g} s") from None
                    time.sleep(0.2)  # polling a lock another process holds; bounded by the deadline
            _held_file.append(fd)
        _held["count"] += 1
    try:
        yield
    finally:
        with _held_lock:
            _held["count"] -= 1
            if _held["count"] == 0:
                fd = _held_file.pop()
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def run_ip(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an iproute2/tc command with a timeout; raise LabError on failure unless *check* is false."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=_IP_TIMEOUT, check=False)  # noqa: S603
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(command)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done


@contextmanager
def lab_network() -> Iterator[None]:
    """Hold the lab lock and the guard route `unreachable 198.18.0.0/15` (removed after, if we added it).

    With the guard route, an address whose veth link is down is unreachable, never routed out
    of the machine.

    Raises:
        LabError: the lock was held too long by another process, or the route cannot be added.
    """
    with lab_lock():
        added = run_ip("ip", "route", "add", "unreachable", str(LAB_NETWORK), check=False)
        if added.returncode != 0 and "File exists" not in added.stderr:
            raise LabError(f"cannot add the guard route for {LAB_NETWORK}: {added.stderr.strip()}")
        try:
            yield
        finally:
            if added.returncode == 0:
                run_ip("ip", "route", "del", "unreachable", str(LAB_NETWORK), check=False)


def available() -> str | None:
    """Return None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "the fault lab needs root (network namespaces, veth links)"
    if shutil.which("ip") is None:
        return "the fault lab needs iproute2's `ip`"
    probe = f"nmprobe{os.getpid()}"
    made = run_ip("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    run_ip("ip", "netns", "del", probe, check=False)
    return None


def netem_available() -> bool:
    """Tell whether the kernel has the netem qdisc (latency and random loss)."""
    if Path("/sys/module/sch_netem").exists():
        return True
    config = Path("/proc/config.gz")
    return config.exists() and b"CONFIG_NET_SCH_NETEM=y" in gzip.decompress(config.read_bytes())


@dataclass
class Site:
    """One simulated site: its namespace, its host-side link, its address and its agent."""

    index: int
    namespace: str
    host_link: str
    site_link: str
    address: str
    agent: RunningAgent | None = None
    hosts: tuple[str, ...] = ()  # more addresses behind the site's link (198.18.N.10, .11, ...)


class FaultLab:
    """Creates sites and injects faults; on exit removes every namespace, link, route and agent it made."""

    def __init__(self, workdir: Path) -> None:
        reason = available()
        if reason is not None:
            raise LabError(reason)
        self.workdir = workdir
        self.sites: list[Site] = []
        self._tag = f"{os.getpid() % 100000}"
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        """Take the lab lock and install the guard route that keeps 198.18.0.0/15 on this machine."""
        self._stack.enter_context(lab_network())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the agents, delete the sites, and remove the guard route if we added it."""
        for site in self.sites:
            if site.agent is not None:
                stop_agent(site.agent)
            run_ip("ip", "link", "del", site.host_link, check=False)
            run_ip("ip", "netns", "del", site.namespace, check=False)
        self._stack.close()

    def add_site(
        self,
        index: int,
        *,
        profiles: Mapping[str, SnmpProfile] | None = None,
        port: int = 161,
        hosts: int = 0,
        ports: tuple[str, ...] = (),
    ) -> Site:
        """Create site *index* (1..254) with *hosts* more addresses and *ports* (see `port`); start its snmpd."""
        if not 1 <= index <= 254:
            raise LabError("a site index is 1..254")
        site = Site(
            index=index,
            namespace=f"nm{self._tag}s{index}",
            host_link=f"nmh{self._tag}s{index}"[:15],
            site_link=f"nms{self._tag}s{index}"[:15],
            address=f"198.18.{index}.2",
            hosts=tuple(f"198.18.{index}.{10 + n}" for n in range(min(hosts, 200))),
        )
        self.sites.append(site)  # recorded before it exists, so that a half-made site is removed too
        run_ip("ip", "netns", "add", site.namespace)
        run_ip("ip", "link", "add", site.host_link, "type", "veth", "peer", "name", site.site_link)
        run_ip("ip", "link", "set", site.site_link, "netns", site.namespace)
        run_ip("ip", "addr", "add", f"198.18.{index}.1/30", "dev", site.host_link)
        run_ip("ip", "link", "set", site.host_link, "up")
        run_ip("ip", "-n", site.namespace, "addr", "add", f"{site.address}/30", "dev", site.site_link)
        run_ip("ip", "-n", site.namespace, "link", "set", site.site_link, "up")
        run_ip("ip", "-n", site.namespace, "link", "set", "lo", "up")
        run_ip("ip", "-n", site.namespace, "route", "add", "default", "via", f"198.18.{index}.1")
        for host in site.hosts:
            run_ip("ip", "-n", site.namespace, "addr", "add", f"{host}/32", "dev", "lo")
        for name in ports:  # before the agent starts, so that its first interface table has them
            self.add_port(site, name)
        if site.hosts:
            run_ip("ip", "route", "replace", f"198.18.{index}.0/24", "via", site.address, "dev", site.host_link)
        if profiles:
            spec = AgentSpec(
                name=f"site-{index}", port=port, addresses=(site.address,), profiles=profiles, sys_name=f"site-{index}"
            )
            site.agent = start_agent(spec, self.workdir / f"site-{index}", namespace=site.namespace)
        return site

    # ---- faults -------------------------------------------------------------------------------

    def link(self, site: Site, *, up: bool) -> None:
        """Take the site's link down or bring it back up."""
        run_ip("ip", "link", "set", site.host_link, "up" if up else "down")
        if up and site.hosts:  # the kernel dropped the route through the link when it went down
            run_ip("ip", "route", "replace", f"198.18.{site.index}.0/24", "via", site.address, "dev", site.host_link)

    def drop_every(self, site: Site, nth: int) -> None:
        """Drop exactly every *nth* echo request arriving at the site (nftables in its namespace)."""
        rules = (
            "table inet netmon_fault {\n"
            "  chain input {\n"
            "    type filter hook input priority 0; policy accept;\n"
            f"    icmp type echo-request numgen inc mod {nth} == 0 drop\n"
            "  }\n"
            "}\n"
        )
        done = subprocess.run(  # noqa: S603
            ["ip", "netns", "exec", site.namespace, "nft", "-f", "-"],  # noqa: S607
            input=rules,
            capture_output=True,
            text=True,
            timeout=_IP_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise LabError(f"nft: {done.stderr.strip()}")

    def netem(self, site: Site, *, delay_ms: float = 0, loss_percent: float = 0) -> None:
        """Add latency and random loss on the site's link (needs the kernel's netem qdisc)."""
        if not netem_available():
            raise LabError("this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)")
        run_ip(
            "tc",
            "qdisc",
            "replace",
            "dev",
            site.host_link,
            "root",
            "netem",
            "delay",
            f"{delay_ms}ms",
            "loss",
            f"{loss_percent}%",
        )

    def add_port(self, site: Site, name: str) -> str:
        """Give the site a second interface *name* (a veth pair inside it) that `port` can take down."""
        peer = f"{name}p"[:15]
        run_ip("ip", "-n", site.namespace, "link", "add", name, "type", "veth", "peer", "name", peer)
        run_ip("ip", "-n", site.namespace, "link", "set", name, "up")
        run_ip("ip", "-n", site.namespace, "link", "set", peer, "up")
        return name

    def port(self, site: Site, name: str, *, up: bool) -> None:
        """Take the far side of the site's interface *name* down (oper-down, admin-up) or back up."""
        run_ip("ip", "-n", site.namespace, "link", "set", f"{name}p"[:15], "up" if up else "down")

    def pause_agent(self, site: Site, *, paused: bool) -> None:
        """Stop the site's agent from answering (SIGSTOP) or let it answer again."""
        if site.agent is None:
            raise LabError(f"site {site.index} has no agent")
        os.kill(site.agent.pid, signal.SIGSTOP if paused else signal.SIGCONT)
