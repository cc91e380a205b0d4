"""sd_notify without a dependency: READY/STOPPING/STATUS and watchdog pings over $NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import os
import socket

__all__ = ["notify", "watchdog_interval", "watchdog_loop"]


def notify(message: str) -> bool:
    """Send *message* (e.g. "READY=1") to systemd; return False when not run by systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode(), address)
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Return how often to ping the watchdog (half of WatchdogSec), or None when it is off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def watchdog_loop(interval: float) -> None:
    """Ping the watchdog from the event loop: a blocked loop misses pings and systemd restarts us."""
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)  # a period, not synchronisation
