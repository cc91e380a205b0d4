"""The `poller` config section: this poller's name, groups, lease and heartbeat (issue 19).

Kept apart from `netmon.config` so that the cluster's modules and the config share it without
a cycle; `netmon.config` re-exports it. Durations are in seconds (STYLE.md 9).
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DEFAULT_GROUP", "PollerConfig"]

_GROUP = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
#: The poller group of every object that names none, and the only one a single poller serves.
DEFAULT_GROUP = "default"


class PollerConfig(BaseModel):
    """This poller's place among several on one PostgreSQL database (issue 19, docs/deployment.md).

    Unset `name` (the default): the single poller, which polls everything. With a `name`, the
    poller joins the membership table, serves the objects of `groups` that rendezvous hashing
    gives it among the group's live pollers, heartbeats every `heartbeat` seconds and holds a
    lease of `failover_delay` seconds: a poller silent that long loses its objects to the others.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=_GROUP)] | None = None
    groups: Annotated[list[Annotated[str, Field(max_length=64, pattern=_GROUP)]], Field(min_length=1)] = [DEFAULT_GROUP]
    failover_delay: Annotated[float, Field(ge=2, le=3600)] = 60.0
    heartbeat: Annotated[float, Field(gt=0, le=600)] | None = None

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> Self:
        if self.heartbeat is not None and self.heartbeat * 2 > self.failover_delay:
            raise ValueError("poller.heartbeat must be at most half of poller.failover_delay")
        return self

    @property
    def beat(self) -> float:
        """Return the heartbeat period (seconds): as given, else a sixth of the failover delay."""
        return self.heartbeat if self.heartbeat is not None else self.failover_delay / 6

    @property
    def clustered(self) -> bool:
        """Tell whether this poller is one of several (it has a name)."""
        return self.name is not None
