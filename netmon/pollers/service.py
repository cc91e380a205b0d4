"""Service checks' shared shapes: the target (one inventory service) and the sample (its outcome).

A service check polls a service, not a device, so its sample's `device` field holds the
*service's* name: the name of the object polled, which is what every Sample keys on (latest
samples per (name, kind), the state engine's ("service", name)). The device the service runs
on, if any, is `ServiceTarget.on_device`; the state engine makes the service depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from netmon.inventory.models import ServiceCheck
from netmon.inventory.spec import Inventory, ServiceSpec
from netmon.inventory.targets import ExpectStatus, parse_expect_status, parse_host_port
from netmon.pollers.base import Sample

__all__ = ["CheckSettings", "ServiceSample", "ServiceTarget", "service_targets"]

_OK_200 = parse_expect_status(200)


@dataclass(frozen=True, kw_only=True)
class CheckSettings:
    """Defaults of one service poll class (`polling.http` / `polling.tcp` in the config).

    `interval` and `timeout` are seconds; a service's own `timeout` overrides this one.
    `max_body_bytes` bounds how much of an HTTP body is read for `body_match`.
    """

    interval: float = 60.0
    timeout: float = 10.0
    max_body_bytes: int = 65536


@dataclass(frozen=True, kw_only=True)
class ServiceTarget:
    """One enabled service as a poll class sees it (no secrets: URLs with credentials are refused at import)."""

    name: str
    unit: str
    check: ServiceCheck
    on_device: str | None = None
    url: str | None = None
    host: str | None = None
    port: int | None = None
    expect: ExpectStatus = _OK_200
    body_match: str | None = None
    timeout: float | None = None
    tls_verify: bool = True

    @property
    def device(self) -> str:
        """Return the name of the object polled (the service's name), as every target has."""
        return self.name

    @classmethod
    def of(cls, spec: ServiceSpec) -> ServiceTarget:
        """Build the target of inventory service *spec* (already validated by the import)."""
        host, port = parse_host_port(spec.address) if spec.address is not None else (None, None)
        return cls(
            name=spec.name,
            unit=spec.unit,
            check=spec.check,
            on_device=spec.device,
            url=spec.url,
            host=host,
            port=port,
            expect=parse_expect_status(spec.expect_status),
            body_match=spec.body_match,
            timeout=spec.timeout,
            tls_verify=spec.tls_verify,
        )


def service_targets(inventory: Inventory, check: ServiceCheck | None = None) -> list[ServiceTarget]:
    """Return the enabled services (of one *check* if given) as poll targets, in inventory order."""
    chosen: Iterable[ServiceSpec] = inventory.services.values()
    return [ServiceTarget.of(s) for s in chosen if s.enabled and (check is None or s.check is check)]


@dataclass(frozen=True, kw_only=True)
class ServiceSample(Sample):
    """The outcome of one service check; `device` is the service's name (see the module docstring).

    `duration` is the whole check in seconds (connect, TLS, request, bounded body read).
    `http_status` is the last response's status code; `cert_not_after` is the peer
    certificate's notAfter (RFC 5280 section 4.1.2.5), read even when verification is off;
    `body_matched` tells whether `body_match` was found (None when there is none to find).
    """

    kind: ClassVar[str] = "service"
    check: ServiceCheck = ServiceCheck.TCP
    http_status: int | None = None
    cert_not_after: datetime | None = None
    body_matched: bool | None = None

    @property
    def service(self) -> str:
        """Return the service's name."""
        return self.device

    def cert_days_left(self) -> float | None:
        """Return the days from the check to the certificate's notAfter (negative once expired), or None."""
        if self.cert_not_after is None:
            return None
        return (self.cert_not_after - self.ts).total_seconds() / 86400.0
