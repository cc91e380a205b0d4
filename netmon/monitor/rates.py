"""Current traffic of the inventory's links, from their interfaces' counters (`netmon.pollers.counters`).

Only the interfaces that terminate a link are followed: those are where netmon itself shows
rates (the API's links: in/out bit/s and utilisation of the declared capacity). Wraps (32 and
64 bit), agent restarts (sysUpTime going back) and counter resets (a rate above the interface
speed) give no rate rather than a wrong one (`counters.rate`). A rate is as current as the
IF-MIB sample it came from: `LiveState.link_traffic` returns it only while that sample is fresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from netmon.pollers.counters import RateMemory, interface_counters
from netmon.pollers.samples import InterfacesSample

__all__ = ["LinkRates", "LinkTraffic"]

_BITS = 8


@dataclass(frozen=True, kw_only=True)
class LinkTraffic:
    """A link's current traffic: bit/s each way (None: no rate yet, or a restart/reset), and when it was read."""

    in_bps: float | None
    out_bps: float | None
    ts: datetime

    def utilisation(self, capacity_mbps: float | None) -> tuple[float | None, float | None]:
        """Return (in, out) as shares of *capacity_mbps* (0..1, may exceed 1 when over the declaration)."""
        if not capacity_mbps:
            return None, None
        capacity = capacity_mbps * 1_000_000
        return (
            self.in_bps / capacity if self.in_bps is not None else None,
            self.out_bps / capacity if self.out_bps is not None else None,
        )


class LinkRates:
    """Turns each IF-MIB sample of a link's device into rates of the link's interface.

    *links_on* maps a device to its (link, ifName) pairs; links without an interface are not followed.
    """

    def __init__(self, links_on: Mapping[str, list[tuple[str, str]]]) -> None:
        self._links_on = {device: pairs for device, pairs in links_on.items() if pairs}
        self._memory = RateMemory()
        self._current: dict[str, LinkTraffic] = {}

    def update(self, sample: InterfacesSample) -> None:
        """Read an answered IF-MIB sample; a device without links costs one dict lookup."""
        pairs = self._links_on.get(sample.device)
        if pairs is None or not sample.ok or sample.sys_uptime is None:
            return
        wanted = {name for _, name in pairs}
        # keyed by identity (ifName, or name#ifIndex where names repeat): ifIndex renumbering keeps the history
        counters = [c for c in interface_counters(sample.interfaces) if c.name in wanted]
        rates = self._memory.update(sample.device, sample.sys_uptime, sample.ts.timestamp(), counters)
        for link, name in pairs:
            got = rates.get(name, {})
            in_octets, out_octets = got.get("in_octets"), got.get("out_octets")
            self._current[link] = LinkTraffic(
                in_bps=in_octets * _BITS if in_octets is not None else None,
                out_bps=out_octets * _BITS if out_octets is not None else None,
                ts=sample.ts,
            )

    def traffic(self, link: str) -> LinkTraffic | None:
        """Return the link's last computed traffic (check its `ts` against the fresh sample)."""
        return self._current.get(link)

    def adopt(self, old: LinkRates) -> None:
        """Keep *old*'s counter history (a reload), for the devices still followed."""
        self._memory = old._memory
        self._current = {link: t for link, t in old._current.items() if any(
            link == name for pairs in self._links_on.values() for name, _ in pairs
        )}  # fmt: skip
