"""Real net-snmp agents for the lab: snmpd processes on loopback addresses, tracked by PID.

Each agent is one `snmpd` serving a set of addresses on one port with the v1/v2c communities
and v3 users of the credential profiles that use that port. It runs in the foreground of a
process we started (no /etc/snmp, no /var/lib/snmp), so its PID is ours to stop.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from netmon.config import SnmpProfile
from netmon.errors import NetmonError

__all__ = [
    "ADDRESS_BUDGET",
    "AgentSpec",
    "LabError",
    "RunningAgent",
    "endpoint",
    "is_running",
    "load_state",
    "render_snmpd_conf",
    "save_state",
    "start_agent",
    "stop_agent",
]

#: The agents this process started, so that they are waited for (not left as zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

_AUTH = {"md5": "MD5", "sha": "SHA", "sha224": "SHA-224", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}
_PRIV = {"des": "DES", "aes128": "AES", "aes192": "AES-192", "aes256": "AES-256"}


class LabError(NetmonError):
    """The lab could not be set up or torn down."""


@dataclass(frozen=True, kw_only=True)
class AgentSpec:
    """What one snmpd serves: addresses on a port, a system group, and the profiles' credentials."""

    name: str
    port: int
    addresses: tuple[str, ...]
    profiles: Mapping[str, SnmpProfile] = field(default_factory=dict)
    sys_name: str = "netmon-lab"
    sys_descr: str = "netmon lab agent (net-snmp)"
    sys_location: str = "netmon lab"
    #: Listen on the wildcard address (replies still come from the asked address). Only inside
    #: a lab namespace, where every address is the lab's; start_agent refuses it elsewhere.
    any_address: bool = False
    #: Serve AgentX subagents (lldpd -x) on this socket path: the agent is then a master agent.
    agentx_socket: str | None = None
    #: snmpd.conf lines written after the generated ones: VACM views and access in a named
    #: context, `proxy -Cn CONTEXT ...` (net-snmp serves a non-default context only that way).
    extra_lines: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RunningAgent:
    """A started agent: its PID and files, as recorded in the lab state."""

    name: str
    pid: int
    port: int
    addresses: tuple[str, ...]
    workdir: str

    def to_dict(self) -> dict[str, object]:
        """Return JSON-ready data."""
        return {**asdict(self), "addresses": list(self.addresses)}


#: Lab agents listen on loopback, or in the fault lab's namespaces on 198.18.0.0/15, nowhere else.
_LAB_RANGES = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("198.18.0.0/15"),
)


#: Bytes of the `agentAddress` value an agent may be given. net-snmp copies the line into a
#: 2,560-byte buffer (SPRINT_MAX_LEN) and silently drops what does not fit (FIELD-NOTES); the
#: margin leaves room for the token and the terminator.
ADDRESS_BUDGET = 2_400


def endpoint(address: str, port: int) -> str:
    """Return net-snmp's endpoint for *address* and *port* (`udp:A:P` or `udp6:[A]:P`).

    Raises LabError when *address* is outside 127.0.0.0/8, ::1 and 198.18.0.0/15.
    """
    ip = ipaddress.ip_address(address)
    if not any(ip in network for network in _LAB_RANGES if network.version == ip.version):
        raise LabError(f"lab agents listen on loopback or 198.18.0.0/15 only, not {address}")
    return f"udp6:[{ip}]:{port}" if ip.version == 6 else f"udp:{ip}:{port}"


def render_snmpd_conf(spec: AgentSpec, persist_dir: Path) -> str:
    """Return the snmpd.conf of an agent: loopback (or its lab namespace) only, read-only, no traps.

    AgentX is off unless *spec* names a socket (the LLDP lab's lldpd subagents).

    Raises LabError when an address is outside the lab's ranges, or when the address list is
    longer than ADDRESS_BUDGET bytes (net-snmp would bind only part of it, without a word).
    """
    addresses = (
        f"udp:0.0.0.0:{spec.port}" if spec.any_address else ",".join(endpoint(a, spec.port) for a in spec.addresses)
    )
    if len(addresses) > ADDRESS_BUDGET:
        raise LabError(
            f"{spec.name}: {len(spec.addresses)} addresses take {len(addresses)} bytes of agentAddress, "
            f"more than the {ADDRESS_BUDGET} net-snmp keeps; split them over more agents (lab.control.lab_specs)"
        )
    lines = [
        "# written by netmon lab; do not edit",
        f"agentAddress {addresses}",
        f"[snmp] persistentDir {persist_dir}",
        "[snmp] serverRecvBuf 4194304",
        "[snmp] serverSendBuf 4194304",
        *(
            ["master agentx", f"agentXSocket {spec.agentx_socket}", "agentXPerms 0777 0777"]
            if spec.agentx_socket
            else ["master no"]
        ),
        f"sysName {spec.sys_name}",
        f"sysDescr {spec.sys_descr}",
        f"sysLocation {spec.sys_location}",
        "sysContact netmon lab",
        "sysServices 72",
    ]
    for profile in spec.profiles.values():
        if profile.community is not None:
            community = profile.community.reveal()
            lines += [
                f"rocommunity {community} 127.0.0.0/8",  # the host, over loopback
                f"rocommunity {community} 198.18.0.0/15",  # the host, into a fault-lab namespace
                f"rocommunity6 {community} ::1/128",
            ]
        elif profile.user:
            create = f"createUser {profile.user}"
            if profile.auth_protocol and profile.auth_key:
                create += f" {_AUTH[profile.auth_protocol]} {profile.auth_key.reveal()}"
                if profile.priv_protocol and profile.priv_key:
                    create += f" {_PRIV[profile.priv_protocol]} {profile.priv_key.reveal()}"
            level = {"authPriv": "priv", "authNoPriv": "auth", "noAuthNoPriv": "noauth"}[profile.security_level]
            lines += [create, f"rouser {profile.user} {level}"]
    lines += spec.extra_lines
    return "\n".join(lines) + "\n"


def _snmpd() -> str:
    found = shutil.which("snmpd") or ("/usr/sbin/snmpd" if Path("/usr/sbin/snmpd").exists() else None)
    if found is None:
        raise LabError("snmpd is not installed (Debian: apt-get install snmpd snmp)")
    return found


def start_agent(
    spec: AgentSpec, workdir: Path, *, ready_timeout: float = 15.0, namespace: str | None = None
) -> RunningAgent:
    """Start snmpd for *spec* in *workdir*, inside network *namespace* if given; return once it is bound."""
    if spec.any_address and namespace is None:
        raise LabError(f"{spec.name}: a wildcard agent only runs inside a lab network namespace")
    workdir = workdir.resolve()  # snmpd does not resolve relative paths against our directory
    workdir.mkdir(parents=True, exist_ok=True)
    persist = workdir / "persist"
    shutil.rmtree(persist, ignore_errors=True)  # v3 users are created afresh from the config
    persist.mkdir(mode=0o700)
    conf = workdir / "snmpd.conf"
    conf.touch(mode=0o600)
    conf.write_text(render_snmpd_conf(spec, persist), encoding="utf-8")
    log = workdir / "snmpd.log"
    log.unlink(missing_ok=True)  # readiness is read from this log: an old run's lines must not count
    command = [_snmpd(), "-f", "-C", "-c", str(conf), "-I", "-smux", "-Lf", str(log), "-m", ""]
    if namespace is not None:
        command = ["ip", "netns", "exec", namespace, *command]  # ip execs snmpd: the PID stays the same
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": ""}
    process = subprocess.Popen(  # noqa: S603 (our own snmpd with our own config)
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _CHILDREN[process.pid] = process
    agent = RunningAgent(
        name=spec.name, pid=process.pid, port=spec.port, addresses=spec.addresses, workdir=str(workdir)
    )
    try:
        _wait_ready(process, spec, log, ready_timeout)
    except BaseException:
        stop_agent(agent)
        raise
    return agent


def _wait_ready(process: subprocess.Popen[bytes], spec: AgentSpec, log: Path, timeout: float) -> None:
    """Wait until the agent has bound every address (its log says so), bounded by *timeout*."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-500:] if log.exists() else ""
            raise LabError(f"snmpd for {spec.name} exited with {process.returncode}: {tail.strip()}")
        if log.exists() and "NET-SNMP version" in log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(delay)  # polling a child process's log file: there is no event to wait on
        delay = min(delay * 2, 0.2)
    raise LabError(f"snmpd for {spec.name} did not start within {timeout:g} s (see {log})")


def is_running(agent: RunningAgent) -> bool:
    """Tell whether the agent's PID is still that snmpd (not a recycled PID)."""
    try:
        cmdline = Path(f"/proc/{agent.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(Path(agent.workdir) / "snmpd.conf").encode() in cmdline


def stop_agent(agent: RunningAgent, *, timeout: float = 5.0) -> bool:
    """Stop an agent (TERM, then KILL); return whether it was running. Recycled PIDs are left alone."""
    if not is_running(agent):
        return False
    pid = agent.pid
    os.kill(pid, signal.SIGCONT)  # a stopped (fault-injected) agent cannot act on SIGTERM
    os.kill(pid, signal.SIGTERM)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout)
        return True
    # Started by another netmon process (`lab up`, then `lab down`): not our child to wait for.
    deadline = time.monotonic() + timeout
    while is_running(agent) and time.monotonic() < deadline:
        time.sleep(0.02)  # polling /proc: a non-child's exit gives us no event to wait on
    if is_running(agent):
        os.kill(pid, signal.SIGKILL)
    return True


def save_state(path: Path, agents: Iterable[RunningAgent]) -> None:
    """Record the running agents (PIDs and files) for `lab down` and `lab status`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"agents": [a.to_dict() for a in agents]}, indent=2), encoding="utf-8")


def load_state(path: Path) -> list[RunningAgent]:
    """Read the recorded agents; an absent file means no lab is up."""
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [RunningAgent(**{**a, "addresses": tuple(a["addresses"])}) for a in data.get("agents", [])]
