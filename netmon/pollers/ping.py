"""ICMP echo poller (gufo-ping): N echo requests per target per round, RTT, jitter and loss."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import structlog
from gufo.ping import Ping
from gufo.ping.socket import SelectionPolicy

from netmon.config import PingClass
from netmon.errors import PollError
from netmon.kernel import Status, Target, utcnow
from netmon.pollers.samples import PingSample

__all__ = ["RECV_BUFFER", "PingPoller", "summarize"]

_log = structlog.get_logger("netmon.ping")

#: With the default buffer and 1,000 echoes in flight only a quarter of the replies arrived.
RECV_BUFFER = 4 * 1024 * 1024

_NO_SOCKET = (
    "cannot open an ICMP socket: give netmon CAP_NET_RAW (systemd: AmbientCapabilities=CAP_NET_RAW; "
    "by hand: setcap cap_net_raw+ep on the Python binary) or allow unprivileged ICMP sockets for its "
    "group (sysctl net.ipv4.ping_group_range='0 2147483647')"
)


def _rmem_max() -> int | None:
    try:
        return int(Path("/proc/sys/net/core/rmem_max").read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def summarize(target: Target, rtts: Sequence[float | None], started: float) -> PingSample:
    """Turn one round's replies (None for a lost echo) into a sample; jitter is the mean absolute deviation."""
    got = [rtt for rtt in rtts if rtt is not None]
    common = {"device": target.device, "ts": utcnow(), "duration": time.monotonic() - started, "sent": len(rtts)}
    if not got:
        return PingSample(status=Status.TIMEOUT, received=0, **common)  # type: ignore[arg-type]
    mean = statistics.fmean(got)
    return PingSample(
        status=Status.OK,
        received=len(got),
        rtt_min=min(got),
        rtt_avg=mean,
        rtt_max=max(got),
        jitter=statistics.fmean(abs(rtt - mean) for rtt in got),
        **common,  # type: ignore[arg-type]
    )


class PingPoller:
    """One `Ping` instance for every target: one raw (or unprivileged) socket per address family.

    A probe must not be cancelled: gufo-ping then leaves the other probes on its socket pending.
    The round deadline (`longest()` plus a margin) outlasts any probe, so only a shutdown,
    which drops this instance, cancels probes. (Shielding each probe cost a task per packet.)
    """

    def __init__(self, settings: PingClass) -> None:
        self.settings = settings
        self._ping = Ping(
            policy=SelectionPolicy.RAW_DGRAM,
            timeout=settings.timeout,
            recv_buffer_size=RECV_BUFFER,
            send_buffer_size=RECV_BUFFER,
        )

    def longest(self) -> float:
        """Return how long one target's round can take: a lost echo is reported after up to 2x the timeout."""
        return self.settings.count * (2 * self.settings.timeout + self.settings.packet_interval)

    async def check(self) -> None:
        """Fail early, with both fixes named, when no ICMP socket can be opened; warn when replies may be dropped."""
        try:
            await self._ping.ping("127.0.0.1")
        except PermissionError as exc:
            raise PollError(_NO_SOCKET) from exc
        rmem_max = await asyncio.to_thread(_rmem_max)
        if rmem_max is not None and rmem_max < RECV_BUFFER:
            _log.warning(
                "net.core.rmem_max caps the ICMP receive buffer; replies may be dropped under load",
                rmem_max=rmem_max,
                wanted=RECV_BUFFER,
                fix=f"sysctl -w net.core.rmem_max={RECV_BUFFER}",
            )

    async def poll(self, target: Target) -> PingSample:
        """Send `count` echo requests `packet_interval` apart; a lost echo is data, not an error."""
        started = time.monotonic()
        rtts: list[float | None] = []
        try:
            for attempt in range(self.settings.count):
                if attempt:
                    await asyncio.sleep(self.settings.packet_interval)
                rtts.append(await self._ping.ping(target.address))
        except PermissionError as exc:
            raise PollError(_NO_SOCKET) from exc
        except OSError as exc:
            return PingSample(
                device=target.device,
                ts=utcnow(),
                status=Status.UNREACHABLE,
                duration=time.monotonic() - started,
                error=exc.strerror or type(exc).__name__,
                sent=len(rtts) + 1,
            )
        return summarize(target, rtts, started)
