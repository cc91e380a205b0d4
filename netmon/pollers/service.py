"""Service checks' shared shapes: the target (one inventory service) and the sample (its outcome).

A service check polls a service, not a device, so its sample's `device` field holds the
*service's* name: the name of the object polled, which is what every Sample keys on (latest
samples per (name, kind), the state engine's ("service", name)). The device the service runs
on, if any, is `ServiceTarget.on_device`; the state engine makes the service depend on it.

`ServiceTarget` is a `Target` (object kind "service"), so one target list carries devices and
services (`netmon.monitor.rounds.targets_of`); `ServiceCheckClass` is the shared base of the
`http` and `tcp` poll classes, which apply to service targets only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.inventory.models import Role, ServiceCheck
from netmon.inventory.spec import Inventory, ServiceSpec
from netmon.inventory.targets import ExpectStatus, parse_expect_status, parse_host_port
from netmon.kernel import Sample, Status, Target, utcnow
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.settings import CheckSettings

__all__ = ["CheckSettings", "ServiceCheckClass", "ServiceSample", "ServiceTarget", "service_targets"]

_OK_200 = parse_expect_status(200)


@dataclass(frozen=True, kw_only=True)
class ServiceTarget(Target):
    """One enabled service as a poll class sees it (no secrets: URLs with credentials are refused at import).

    As a `Target`, `device` is the service's name and `address` its URL or HOST:PORT (both
    derived, not given); `role` and `snmp` mean nothing for a service.
    """

    object_kind: ClassVar[str] = "service"
    name: str
    unit: str
    check: ServiceCheck
    device: str = ""
    address: str = ""
    role: Role = Role.OTHER
    on_device: str | None = None
    url: str | None = None
    host: str | None = None
    port: int | None = None
    expect: ExpectStatus = _OK_200
    body_match: str | None = None
    timeout: float | None = None
    tls_verify: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", self.name)
        where = self.url if self.url is not None else f"{self.host}:{self.port}" if self.host is not None else ""
        object.__setattr__(self, "address", where)

    @classmethod
    def of(cls, spec: ServiceSpec) -> ServiceTarget:
        """Build the target of inventory service *spec* (already validated by the import)."""
        # not checked again: a database imported before a rule was added still loads (the import checks it)
        host, port = parse_host_port(spec.address, one_host=False) if spec.address is not None else (None, None)
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


@dataclass(frozen=True, kw_only=True, slots=True)
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


class ServiceCheckClass(BasePollClass):
    """Base of the `http` and `tcp` poll classes: service targets of one `check`, one ServiceSample each.

    Settings are `polling.<name>` (`CheckSettings`: interval 60 s, timeout 10 s); a service's
    own `timeout` overrides the class's. A check is not a device's check (`stateful` is off):
    the live view judges it as the object ("service", NAME).
    """

    service_check: ClassVar[ServiceCheck]
    defaults: ClassVar[Mapping[str, Any]] = {"interval": 60, "timeout": 10.0, "retries": 0}
    settings_type: ClassVar[type[PollSettings]] = CheckSettings
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = (ServiceSample,)

    def __init__(self, config: Config | None = None, settings: PollSettings | None = None) -> None:
        if settings is None:
            settings = CheckSettings()
        elif not isinstance(settings, CheckSettings):
            settings = CheckSettings.model_validate(settings.model_dump())
        super().__init__(config or Config(), settings)
        #: `settings` as its own type (the protocol's `settings` attribute stays `PollSettings`)
        self.check_settings: CheckSettings = settings

    def applies(self, target: Target) -> bool:
        """Tell whether *target* is a service of this class's check."""
        return isinstance(target, ServiceTarget) and target.check is self.service_check

    def timeout(self, target: Target) -> float:
        """Return the whole check's timeout for *target* in seconds: the service's own, else the class's."""
        own = target.timeout if isinstance(target, ServiceTarget) else None
        return own or self.settings.timeout

    def deadline(self, target: Target) -> float:
        """Return the most time one check may take (seconds): the timeout and a second of slack."""
        return self.timeout(target) + 1.0

    async def poll(self, target: Target) -> list[Sample]:
        """Check *target* once (`check_service`); a target that is not a service is an error sample."""
        if not isinstance(target, ServiceTarget):
            return self.failed(target, Status.ERROR, "not a service target")
        return [await self.check_service(target)]

    async def check_service(self, target: ServiceTarget) -> ServiceSample:
        """Check one service; return its sample whatever happens (subclasses)."""
        raise NotImplementedError

    def failed(self, target: Target, status: Status, error: str) -> list[Sample]:
        """Return the sample that stands for a check that did not finish."""
        return [ServiceSample(device=target.device, ts=utcnow(), status=status, error=error, check=self.service_check)]
