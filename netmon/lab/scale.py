"""The scale lab in namespaces: thousands of devices answering ICMP and SNMP from one namespace each.

A population (say, routers) lives in one network namespace behind one veth link. The namespace
owns a whole prefix of 198.19.0.0/16 through a `local` route (AnyIP: the kernel answers ICMP
for every address in it), carries as many interfaces as the device model has (dummy links),
and runs one snmpd on the wildcard address. snmpd's select() loop cannot hold thousands of
sockets, hence one wildcard socket per population rather than one socket per address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from netmon.config import SnmpProfile
from netmon.lab.agents import AgentSpec, LabError, RunningAgent, start_agent
from netmon.lab.faults import FaultLab, run_ip

__all__ = ["Population", "add_population", "hosts"]

_PREFIXES = ipaddress.IPv4Network("198.19.0.0/16")


@dataclass(frozen=True)
class Population:
    """A namespace serving every address of *prefix* with *interfaces* interfaces."""

    name: str
    namespace: str
    prefix: ipaddress.IPv4Network
    interfaces: int
    agent: RunningAgent


def hosts(prefix: ipaddress.IPv4Network, count: int) -> Iterator[str]:
    """Yield *count* addresses of *prefix*, skipping the .0 and .255 of every /24."""
    made = 0
    for address in prefix.hosts():
        if made == count:
            return
        if int(address) % 256 not in (0, 255):
            made += 1
            yield str(address)
    if made < count:
        raise LabError(f"{prefix} holds fewer than {count} usable addresses")


def add_population(
    lab: FaultLab,
    index: int,
    *,
    name: str,
    prefix: str,
    interfaces: int,
    profiles: Mapping[str, SnmpProfile],
    workdir: Path,
) -> Population:
    """Create a site whose namespace answers for all of *prefix*, with *interfaces* interfaces and snmpd."""
    network = ipaddress.ip_network(prefix)
    if not isinstance(network, ipaddress.IPv4Network) or not network.subnet_of(_PREFIXES):
        raise LabError(f"a population prefix lies in 198.19.0.0/16, not {prefix}")
    site = lab.add_site(index)
    ns = ["ip", "-n", site.namespace]
    run_ip(*ns, "route", "add", "local", str(network), "dev", "lo")
    run_ip("ip", "route", "add", str(network), "via", site.address)
    # lo and the veth link are two interfaces; ifb links (this kind of kernel has no dummy
    # links) make up the rest of the device model.
    for port in range(1, max(0, interfaces - 2) + 1):
        run_ip(*ns, "link", "add", f"port{port}", "type", "ifb")
        run_ip(*ns, "link", "set", f"port{port}", "up")
    spec = AgentSpec(name=name, port=161, addresses=(), profiles=profiles, sys_name=name, any_address=True)
    agent = start_agent(spec, workdir / name, namespace=site.namespace)
    site.agent = agent
    return Population(name=name, namespace=site.namespace, prefix=network, interfaces=interfaces, agent=agent)
