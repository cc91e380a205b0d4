"""Poll class settings: `polling:` in the config, one section per registered poll class.

Moved out of `netmon.config` (which re-exports every name) to keep that module small. The keys
of `polling:` besides `concurrency` are validated against `netmon.pollers.registry`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["CheckSettings", "PingClass", "PollClass", "PollingConfig"]

Seconds = Annotated[float, Field(gt=0, le=86400)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PollClass(_Section):
    """How often one class of poll runs and how long each request may take."""

    interval: Seconds
    timeout: Seconds
    retries: Annotated[int, Field(ge=0, le=10)]


class PingClass(PollClass):
    """The ping poll class: also how many echo requests a round sends per target, how far apart."""

    count: Annotated[int, Field(ge=1, le=100)] = 3
    packet_interval: Annotated[float, Field(ge=0, le=60)] = 0.5


class CheckSettings(PollClass):
    """The service check classes (`polling.http`, `polling.tcp`): every key has a default.

    `interval` and `timeout` are seconds; a service's own `timeout` overrides this one.
    `retries` is not used (a check is one attempt). `max_body_bytes` bounds how much of an
    HTTP body is read for `body_match`.
    """

    interval: Seconds = 60.0
    timeout: Seconds = 10.0
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    max_body_bytes: Annotated[int, Field(ge=0, le=16 * 1024 * 1024)] = 65536


_POLL_DEFAULTS: dict[str, dict[str, float]] = {
    "ping": {"interval": 60, "timeout": 1.0, "retries": 0, "count": 3, "packet_interval": 0.5},
    "snmp": {"interval": 300, "timeout": 2.0, "retries": 1},
    "host_resources": {"interval": 300, "timeout": 3.0, "retries": 1},
}


class PollingConfig(_Section):
    """Intervals, timeouts and retries per poll class; a class may set only some keys.

    The keys besides `concurrency` are poll class names from `netmon.pollers.registry`; a name
    that is not registered is an unknown key (a config error naming it, with its line). Classes
    registered beyond the three built-in fields keep their settings in `classes`; read any
    class's settings with `of(name)`.
    """

    ping: PingClass = PingClass.model_validate(_POLL_DEFAULTS["ping"])
    snmp: PollClass = PollClass.model_validate(_POLL_DEFAULTS["snmp"])
    host_resources: PollClass = PollClass.model_validate(_POLL_DEFAULTS["host_resources"])
    concurrency: Annotated[int, Field(ge=1, le=10000)] = 256
    classes: Annotated[dict[str, PollClass], Field(exclude=True)] = {}

    @model_validator(mode="before")
    @classmethod
    def _fill_class_defaults(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        from netmon.pollers import registry  # noqa: PLC0415 (the registry's classes import this module)

        merged = dict(data)
        classes: dict[str, PollClass] = {}  # only from registered names, never given directly
        for name in registry.names():
            value = data.get(name)
            if not isinstance(value, dict):
                continue  # absent (defaults), or the field's own validation names the key and the type
            poll_class = registry.class_of(name)
            settings = {**poll_class.defaults, **_POLL_DEFAULTS.get(name, {}), **value}
            if name in cls.model_fields:
                merged[name] = settings
            else:
                classes[name] = _class_settings(poll_class.settings_type, name, settings)
                del merged[name]
        merged["classes"] = classes
        return merged  # a key that is neither a field nor a registered class stays: "unknown key"

    def of(self, name: str) -> PollClass:
        """Return the settings of poll class *name*: configured, else its defaults. KeyError if unregistered."""
        if name in self.classes:
            return self.classes[name]
        if name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, PollClass):
                return value
        from netmon.pollers import registry  # noqa: PLC0415 (the registry's classes import this module)

        poll_class = registry.class_of(name)
        return poll_class.settings_type.model_validate(dict(poll_class.defaults))


def _class_settings(kind: type[PollClass], name: str, value: dict[str, Any]) -> PollClass:
    """Validate one registered class's settings; errors name `<class>.<key>`."""
    try:
        return kind.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in (name, *first["loc"]))
        raise ValueError(f"{where}: {first['msg']}") from None
