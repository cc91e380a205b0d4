"""The `tcp` poll class: whether a TCP connection to HOST:PORT opens, and how long that takes.

For the ports of video-conference systems, databases and mail (issue 11, item 5). The check
completes the three-way handshake (RFC 9293 section 3.5) and closes at once; it sends no data.
Outcomes, never exceptions:

- ok: connected; `duration` is the connect time in seconds (name resolution included);
- refused: the host answered with a RST (nothing listens on the port);
- unreachable: the kernel reported no route (EHOSTUNREACH / ENETUNREACH);
- timeout: no answer within the service's timeout (default `CheckSettings.timeout`);
- error: the name did not resolve, or another socket error.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from datetime import datetime
from typing import ClassVar

from netmon.inventory.models import ServiceCheck
from netmon.kernel import Status, utcnow
from netmon.pollers.service import ServiceCheckClass, ServiceSample, ServiceTarget

__all__ = ["TcpCheck", "connect_status"]

_UNREACHABLE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH})


def connect_status(exc: BaseException) -> tuple[Status, str]:
    """Classify a connect failure as (status, message); the one place socket errors are translated."""
    if isinstance(exc, TimeoutError):
        return Status.TIMEOUT, "no answer"
    if isinstance(exc, ConnectionRefusedError):
        return Status.REFUSED, "connection refused"
    if isinstance(exc, socket.gaierror):
        return Status.ERROR, f"name not resolved: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return Status.UNREACHABLE, exc.strerror or "no route to host"
    if isinstance(exc, OSError):
        return Status.ERROR, f"socket error: {exc.strerror or type(exc).__name__}"
    return Status.ERROR, f"check error: {type(exc).__name__}"


class TcpCheck(ServiceCheckClass):
    """Poll class `tcp` (registered in `netmon.pollers.registry.BUILTIN`; settings `polling.tcp`)."""

    name: ClassVar[str] = "tcp"
    service_check: ClassVar[ServiceCheck] = ServiceCheck.TCP

    async def check_service(self, target: ServiceTarget) -> ServiceSample:
        """Connect once to the target's HOST:PORT; return one ServiceSample whatever happens."""
        ts, started = utcnow(), time.monotonic()
        if target.host is None or target.port is None:
            return _sample(target, ts, Status.ERROR, 0.0, "no HOST:PORT")
        try:
            async with asyncio.timeout(self.timeout(target)):
                _reader, writer = await asyncio.open_connection(target.host, target.port)
        except (TimeoutError, OSError) as exc:
            status, message = connect_status(exc)
            return _sample(target, ts, status, time.monotonic() - started, message)
        duration = time.monotonic() - started
        writer.close()
        try:
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            pass  # the connect succeeded: how the peer takes the close does not change the outcome
        return _sample(target, ts, Status.OK, duration, None)


def _sample(target: ServiceTarget, ts: datetime, status: Status, duration: float, error: str | None) -> ServiceSample:
    return ServiceSample(
        device=target.name,
        ts=ts,
        status=status,
        duration=duration,
        error=error,
        check=ServiceCheck.TCP,
    )
