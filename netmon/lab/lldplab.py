"""The LLDP lab: devices in network namespaces joined by veth links, real LLDP between them.

Each device is a namespace running net-snmp's snmpd as an AgentX master and Debian's lldpd with
its SNMP subagent (`lldpd -x`), so LLDP frames cross the veth links and LLDP-MIB answers over
SNMP. The station (this machine's root namespace) reaches the tree through one veth link to the
first device. Addresses stay in 198.19.0.0/16 (inside 198.18.0.0/15): device N's management
address is 198.19.255.N on its loopback; link k is 198.19.k.0/30 (.1 parent side, .2 child
side); the station's link is 198.19.0.0/30. Routes follow the tree and are rebuilt after a move.
Takes the machine-wide lab lock; needs root, `ip`, snmpd and lldpd (`available()` says why not).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from netmon.config import SnmpProfile
from netmon.lab.agents import AgentSpec, LabError, RunningAgent, start_agent, stop_agent
from netmon.lab.faults import available as namespaces_available
from netmon.lab.faults import lab_network, run_ip

__all__ = ["LLDP_NETWORK", "LldpLab", "Node", "available"]

LLDP_NETWORK = ipaddress.ip_network("198.19.0.0/16")
_STOP_TIMEOUT = 5.0


def available() -> str | None:
    """Return None when the LLDP lab can run here, else why not."""
    reason = namespaces_available()
    if reason is not None:
        return reason
    if shutil.which("lldpd") is None and not Path("/usr/sbin/lldpd").exists():
        return "the LLDP lab needs Debian's lldpd (apt-get install lldpd)"
    return None


@dataclass
class Node:
    """One lab device: its namespace, management address, LLDP capability and processes."""

    index: int
    name: str
    namespace: str
    capability: str  # lldpd's name: router | bridge | telephone | station | wlan
    description: str
    med_class: int | None = None  # LLDP-MED device class (3: communication endpoint, e.g. a VC codec)
    ports: dict[str, str] = field(default_factory=dict)  # neighbour name -> own interface name
    agent: RunningAgent | None = None
    lldpd: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Return the management address (on the namespace's loopback)."""
        return f"198.19.255.{self.index}"


@dataclass
class _Link:
    index: int
    parent: str
    child: str
    parent_if: str
    child_if: str


class LldpLab:
    """Builds the tree, starts snmpd and lldpd in every node; on exit removes all it made."""

    def __init__(self, workdir: Path, profiles: Mapping[str, SnmpProfile]) -> None:
        reason = available()
        if reason is not None:
            raise LabError(reason)
        self.workdir = workdir.resolve()
        self.profiles = profiles
        self.nodes: dict[str, Node] = {}
        self.station_node: str | None = None
        self._links: list[_Link] = []
        self._next_link = 1
        self._tag = f"{os.getpid() % 100000}"
        self._host_link = f"nml{self._tag}h"[:15]
        self._stack = ExitStack()
        # UNIX socket paths are limited to 107 bytes, and lldpd reads its config as _lldpd: sockets and
        # configs live in a short folder that user can enter
        self._sockets = Path(tempfile.mkdtemp(prefix="nmlldp", dir="/run" if os.access("/run", os.W_OK) else None))
        self._sockets.chmod(0o755)  # lldpd runs lldpcli unprivileged (_lldpd) to apply its config

    def __enter__(self) -> Self:
        """Take the lab lock and keep 198.18.0.0/15 on this machine while the lab is up."""
        self._stack.enter_context(lab_network())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop every lldpd and snmpd, delete the namespaces and the station's link."""
        for node in self.nodes.values():
            self._stop_lldpd(node)
            if node.agent is not None:
                stop_agent(node.agent)
        run_ip("ip", "link", "del", self._host_link, check=False)
        for node in self.nodes.values():
            run_ip("ip", "netns", "del", node.namespace, check=False)
        shutil.rmtree(self._sockets, ignore_errors=True)
        self._stack.close()

    # ---- building ---------------------------------------------------------------------------

    def add(self, name: str, capability: str, description: str, *, med_class: int | None = None) -> Node:
        """Create device *name* (a namespace with its management address and forwarding on).

        *capability* is lldpd's word (router, bridge, wlan, station, telephone); telephone is only
        available with an LLDP-MED endpoint *med_class* (3 for a VC codec), as on real endpoints.
        """
        index = len(self.nodes) + 1
        node = Node(
            index=index,
            name=name,
            namespace=f"nml{self._tag}n{index}",
            capability=capability,
            description=description,
            med_class=med_class,
        )
        self.nodes[name] = node  # recorded first, so that a half-made node is removed too
        run_ip("ip", "netns", "add", node.namespace)
        run_ip("ip", "-n", node.namespace, "link", "set", "lo", "up")
        run_ip("ip", "-n", node.namespace, "addr", "add", f"{node.address}/32", "dev", "lo")
        run_ip("ip", "netns", "exec", node.namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        return node

    def attach_station(self, name: str) -> None:
        """Link this machine to device *name*, the first hop toward the whole tree."""
        node = self.nodes[name]
        inner = "ge0"
        peer = f"nml{self._tag}p"[:15]
        run_ip("ip", "link", "add", self._host_link, "type", "veth", "peer", "name", peer)
        run_ip("ip", "link", "set", peer, "netns", node.namespace)
        run_ip("ip", "-n", node.namespace, "link", "set", peer, "name", inner)
        run_ip("ip", "addr", "add", "198.19.0.1/30", "dev", self._host_link)
        run_ip("ip", "-n", node.namespace, "addr", "add", "198.19.0.2/30", "dev", inner)
        run_ip("ip", "link", "set", self._host_link, "up")
        run_ip("ip", "-n", node.namespace, "link", "set", inner, "up")
        node.ports["station"] = inner
        self.station_node = name

    def connect(self, parent: str, child: str) -> tuple[str, str]:
        """Join *parent* and *child* with a new veth link; return (parent's interface, child's interface)."""
        a, b = self.nodes[parent], self.nodes[child]
        k = self._next_link
        self._next_link += 1
        a_if, b_if = f"ge{_free(a)}", f"ge{_free(b)}"
        left, right = f"nml{self._tag}a{k}"[:15], f"nml{self._tag}b{k}"[:15]
        run_ip("ip", "link", "add", left, "type", "veth", "peer", "name", right)
        for tmp, node, name, host in ((left, a, a_if, 1), (right, b, b_if, 2)):
            run_ip("ip", "link", "set", tmp, "netns", node.namespace)
            run_ip("ip", "-n", node.namespace, "link", "set", tmp, "name", name)
            run_ip("ip", "-n", node.namespace, "addr", "add", f"198.19.{k}.{host}/30", "dev", name)
            run_ip("ip", "-n", node.namespace, "link", "set", name, "up")
        a.ports[child], b.ports[parent] = a_if, b_if
        self._links.append(_Link(index=k, parent=parent, child=child, parent_if=a_if, child_if=b_if))
        self._route()
        return a_if, b_if

    def move(self, child: str, new_parent: str) -> tuple[str, str]:
        """Re-plumb *child*'s uplink to *new_parent* (a new veth link); return the new interfaces."""
        old = next(link for link in self._links if link.child == child)
        run_ip("ip", "-n", self.nodes[child].namespace, "link", "del", old.child_if)  # deletes both ends
        self._links.remove(old)
        del self.nodes[old.parent].ports[child], self.nodes[child].ports[old.parent]
        return self.connect(new_parent, child)

    def start(self) -> None:
        """Start snmpd (AgentX master) and lldpd (subagent) in every device."""
        for node in self.nodes.values():
            workdir = self.workdir / node.name
            workdir.mkdir(parents=True, exist_ok=True)
            socket = self._sockets / f"{node.index}.agentx"
            spec = AgentSpec(
                name=node.name,
                port=161,
                addresses=(node.address,),
                profiles=self.profiles,
                sys_name=node.name,
                sys_descr=node.description,
                sys_location=f"netmon LLDP lab, {node.name}",
                any_address=True,
                agentx_socket=str(socket),
            )
            node.agent = start_agent(spec, workdir, namespace=node.namespace)
            self._start_lldpd(node, workdir, socket)

    def _start_lldpd(self, node: Node, workdir: Path, socket: Path) -> None:
        conf = self._sockets / f"{node.index}.conf"  # read by the unprivileged lldpcli: not in a private tmp dir
        conf.write_text(
            f"configure system hostname {node.name}\n"
            f'configure system description "{node.description}"\n'
            f"configure system capabilities enabled {node.capability}\n"
            "configure system ip management pattern 198.19.255.*\n"
            "configure lldp portidsubtype ifname\n"
            "configure lldp tx-interval 1\n",
            encoding="utf-8",
        )
        conf.chmod(0o644)
        Path("/run/lldpd").mkdir(exist_ok=True)  # lldpd's privilege-separation chroot
        log = (workdir / "lldpd.log").open("wb")
        command = ["ip", "netns", "exec", node.namespace, _lldpd(), "-d", "-x", "-X", str(socket)]
        command += ["-u", str(self._control(node)), "-O", str(conf)]
        if node.med_class is not None:
            command += ["-M", str(node.med_class)]
        node.lldpd = subprocess.Popen(  # noqa: S603 (our own lldpd with our own config)
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        log.close()

    def _control(self, node: Node) -> Path:
        return self._sockets / f"{node.index}.ctl"

    def _stop_lldpd(self, node: Node) -> None:
        process = node.lldpd
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_STOP_TIMEOUT)

    def _route(self) -> None:
        """Rebuild every static route from the tree: down toward children, default toward the parent."""
        parent_of = {link.child: link for link in self._links}
        below: dict[str, list[str]] = {name: [] for name in self.nodes}
        for name in self.nodes:
            current = name
            for _ in range(len(self.nodes)):  # walk up to the station, bounded by the tree's size
                link = parent_of.get(current)
                if link is None:
                    break
                below[link.parent].append(name)
                current = link.parent
        for name, node in self.nodes.items():
            run_ip("ip", "-n", node.namespace, "route", "flush", "proto", "static")
            if name == self.station_node:
                run_ip("ip", "-n", node.namespace, "route", "add", "default", "via", "198.19.0.1", "proto", "static")
                # what no device owns is answered "unreachable" here, not bounced back to the station
                run_ip("ip", "-n", node.namespace, "route", "add", "unreachable", str(LLDP_NETWORK), "proto", "static")
            elif name in parent_of:
                up = parent_of[name]
                run_ip(
                    "ip", "-n", node.namespace, "route", "add", "default", "via", f"198.19.{up.index}.1",
                    "proto", "static",
                )  # fmt: skip
            for link in self._links:
                if link.parent == name:
                    via = f"198.19.{link.index}.2"
                    for far in [link.child, *below[link.child]]:
                        run_ip(
                            "ip", "-n", node.namespace, "route", "replace", f"{self.nodes[far].address}/32",
                            "via", via, "proto", "static",
                        )  # fmt: skip
                        for deeper in self._links:
                            if deeper.parent == far:
                                run_ip(
                                    "ip", "-n", node.namespace, "route", "replace", f"198.19.{deeper.index}.0/30",
                                    "via", via, "proto", "static",
                                )  # fmt: skip
        if self.station_node is not None:
            run_ip("ip", "route", "replace", str(LLDP_NETWORK), "via", "198.19.0.2", "dev", self._host_link)

    def wait_neighbours(self, timeout: float = 20.0) -> None:
        """Wait until every lldpd reports each of its links' neighbours (bounded by *timeout*)."""
        deadline = time.monotonic() + timeout
        for node in self.nodes.values():
            wanted = {n for n in node.ports if n != "station"}
            while True:
                seen = self.neighbours_of(node.name)
                if wanted <= seen:
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"{node.name} sees {sorted(seen)} by LLDP, expected {sorted(wanted)}")
                time.sleep(0.2)  # polling lldpd's view: LLDP frames arrive every tx-interval

    def neighbours_of(self, name: str) -> set[str]:
        """Return the system names *name*'s lldpd has learnt (lldpcli, keyvalue output)."""
        done = subprocess.run(  # noqa: S603
            [_lldpcli(), "-u", str(self._control(self.nodes[name])), "-f", "keyvalue", "show", "neighbors"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return {line.split("=", 1)[1] for line in done.stdout.splitlines() if ".chassis.name=" in line}


def _free(node: Node) -> int:
    used = {int(name[2:]) for name in node.ports.values() if name.startswith("ge") and name[2:].isdigit()}
    return next(n for n in range(1, 64) if n not in used)


def _lldpd() -> str:
    return shutil.which("lldpd") or "/usr/sbin/lldpd"


def _lldpcli() -> str:
    return shutil.which("lldpcli") or "/usr/sbin/lldpcli"
