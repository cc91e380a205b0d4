"""The ping sweep: every address of the given networks, paced to a packet rate, inside `discovery.allowed`.

One gufo-ping socket serves the whole sweep; probes start in 10 ms slots at the requested rate,
so a /16 at the default 200 packets/s takes about 5.5 minutes and never bursts. A network that
is not inside one of the config's `discovery.allowed` networks is refused before any packet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Iterator, Sequence

from gufo.ping import Ping, SelectionPolicy

from netmon.errors import InputError

__all__ = ["MAX_ADDRESSES", "IpNetwork", "addresses_of", "check_allowed", "parse_networks", "sweep"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: The most addresses one sweep takes: four /16s.
MAX_ADDRESSES = 4 * 65_536
_SLOT = 0.01


def parse_networks(texts: Sequence[str]) -> list[IpNetwork]:
    """Parse NETWORK arguments (CIDR, or one address as a /32 or /128).

    Raises:
        InputError: a value is not a network, or together they hold more than `MAX_ADDRESSES`.
    """
    networks: list[IpNetwork] = []
    for text in texts:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise InputError(f"NETWORK {text!r}: expected a network such as 198.18.0.0/24") from None
    total = sum(n.num_addresses for n in networks)
    if total > MAX_ADDRESSES:
        raise InputError(f"NETWORK: {total:,} addresses is more than one sweep takes ({MAX_ADDRESSES:,}); split it")
    return networks


def check_allowed(networks: Sequence[IpNetwork], allowed: Sequence[IpNetwork]) -> None:
    """Refuse any network outside the config's `discovery.allowed`.

    Raises:
        InputError: naming the first network that is not inside an allowed one.
    """
    for network in networks:
        if not any(network.version == a.version and network.subnet_of(a) for a in allowed):  # type: ignore[arg-type]
            shown = ", ".join(str(a) for a in allowed) or "nothing (the list is empty)"
            raise InputError(f"NETWORK {network} is outside discovery.allowed in the config, which allows {shown}")


def addresses_of(networks: Sequence[IpNetwork]) -> Iterator[str]:
    """Yield each host address once, in order (network and broadcast addresses left out, as `hosts()` does)."""
    seen: set[str] = set()
    for network in networks:
        for address in network.hosts() if network.num_addresses > 2 else network:
            text = str(address)
            if text not in seen:
                seen.add(text)
                yield text


async def sweep(
    networks: Sequence[IpNetwork],
    *,
    rate: float,
    wait: float,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[str]:
    """Ping every address once at *rate* packets/s, waiting *wait* seconds for each echo reply.

    Returns the addresses that answered, in address order.

    *progress* is called with (sent, total, answered) once per slot. A permission error opening
    the ICMP socket is raised as `PermissionError` for the caller to explain.
    """
    addresses = list(addresses_of(networks))
    ping = Ping(policy=SelectionPolicy.RAW_DGRAM, timeout=wait)
    answered: list[str] = []
    per_slot = max(1, round(rate * _SLOT))

    async def probe(address: str) -> None:
        try:
            rtt = await ping.ping(address)
        except PermissionError:
            raise
        except OSError:  # no route, or the kernel refused this one address: it did not answer
            return
        if rtt is not None:
            answered.append(address)

    await ping.ping("127.0.0.1")  # PermissionError here, before the sweep, when no ICMP socket may be opened
    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for slot, first in enumerate(range(0, len(addresses), per_slot)):
            delay = started + slot * per_slot / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the sweep to its rate, not synchronisation
            for address in addresses[first : first + per_slot]:
                group.create_task(probe(address))
            if progress is not None:
                progress(min(first + per_slot, len(addresses)), len(addresses), len(answered))
    if progress is not None:
        progress(len(addresses), len(addresses), len(answered))
    return sorted(answered, key=ipaddress.ip_address)
