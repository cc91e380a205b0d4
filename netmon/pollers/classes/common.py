"""`BasePollClass`: the defaults a poll class may keep (no start-up check, every target, one slot each).

A poll class derives from it and sets `name`, `defaults`, `sample_kinds` and `poll()`; the
rest has a sensible default documented on each method. See `netmon.pollers.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.kernel import Sample, Status, Target, utcnow

if TYPE_CHECKING:
    from netmon.sinks.exposition import DeviceView, Lines

__all__ = ["FRESH_MARGIN", "BasePollClass"]

#: A sample is current for two intervals plus this margin (seconds): one missed round is not staleness.
FRESH_MARGIN = 60.0


class BasePollClass:
    """Defaults for the `PollClass` protocol; subclasses override what differs."""

    name: ClassVar[str] = ""
    defaults: ClassVar[Mapping[str, Any]] = {"interval": 300, "timeout": 2.0, "retries": 1}
    settings_type: ClassVar[type[PollSettings]] = PollSettings
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = ()
    trap_polled: ClassVar[bool] = False
    stateful: ClassVar[bool] = False
    metric_paths: ClassVar[frozenset[Literal["main", "interfaces"]]] = frozenset(("main",))

    def __init__(self, config: Config, settings: PollSettings) -> None:
        self.config = config
        self.settings = settings

    async def check(self) -> None:
        """Nothing to check by default."""

    async def aclose(self) -> None:
        """Nothing to release by default."""

    def applies(self, target: Target) -> bool:
        """Poll every device by default (not services: `Target.object_kind`)."""
        return target.object_kind == "device"

    def deadline(self, target: Target) -> float:
        """Return every attempt's timeout plus one second, and never more than the interval."""
        return min(self.settings.interval, (self.settings.retries + 1) * self.settings.timeout + 1.0)

    def slots(self, concurrency: int) -> int:
        """Return *concurrency*: one target holds one slot."""
        return concurrency

    @classmethod
    def freshness(cls, settings: PollSettings) -> timedelta:
        """Return two intervals plus `FRESH_MARGIN`: the window in which this class's samples are current."""
        return timedelta(seconds=2 * settings.interval + FRESH_MARGIN)

    def failed(self, target: Target, status: Status, error: str) -> list[Sample]:
        """Return one sample of the class's first kind with *status* and *error*."""
        return [self.sample_kinds[0](device=target.device, ts=utcnow(), status=status, error=error)]

    @classmethod
    def verdict(cls, sample: Sample) -> bool | None:
        """Judge a check up when its sample is OK, down otherwise (used when `stateful`)."""
        return sample.ok

    @classmethod
    def export(cls, view: DeviceView, out: Lines) -> None:
        """Export nothing by default."""
