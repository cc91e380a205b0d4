"""Typed configuration, loaded once: YAML file, then NETMON_<SECTION>__<KEY> overrides.

Every default lives here and is documented in config/netmon.example.yaml. Unknown keys
and wrong types raise ConfigError naming the file, the line and the key (or the
environment variable). Secrets are `Secret` values and never print.
"""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from collections.abc import Mapping
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from netmon.cluster.settings import DEFAULT_GROUP, PollerConfig
from netmon.errors import ConfigError, Issue, validation_message
from netmon.inventory.kinds import LinkKind
from netmon.pollers.profiles import SnmpProfile
from netmon.pollers.settings import PingClass, PollClass, PollingConfig
from netmon.secrets import Secret, SecretUrl
from netmon.yamlsrc import DocPath, Located, YamlSyntaxError, dotted, load_yaml

__all__ = [
    "DEFAULT_GROUP",
    "ENV_PREFIX",
    "AvailabilityConfig",
    "Config",
    "DatabaseConfig",
    "HttpConfig",
    "IndicatorsConfig",
    "LoggingConfig",
    "MaintenanceConfig",
    "MetricsConfig",
    "MqttConfig",
    "PingClass",
    "PollClass",
    "PollerConfig",
    "PollingConfig",
    "SnmpProfile",
    "StateConfig",
    "TrapConfig",
    "WebConfigFile",
    "load_config",
]

ENV_PREFIX = "NETMON_"
_ENV_SOURCE = "environment"
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

Seconds = Annotated[float, Field(gt=0, le=86400)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    """Where the inventory and history live."""

    url: SecretUrl = SecretUrl("sqlite:///var/netmon.db")


def _check_host_port(value: str, example: str) -> str:
    """Check a HOST:PORT listen address; *example* is the port shown in error messages."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, e.g. 127.0.0.1:{example} or [::1]:{example}")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not host:
            raise ValueError(f"expected HOST:PORT with a host, e.g. 0.0.0.0:{example}") from None
    return value


class MetricsConfig(_Section):
    """What /metrics exports: the cardinality the user chooses (issue 12; docs/metrics.md gives series per device).

    - `interfaces`: which IF-MIB rows get `netmon_interface_*` series. `admin_up` (default): the
      ports someone enabled, up or down, since a cable pulled from an enabled port is news and a
      disabled port is not; `all`: every row; `linked`: only the interfaces an inventory link names.
    - `interfaces_path`: `separate` (default) serves the interface families on /metrics/interfaces,
      for a Prometheus job with its own interval and timeout; `main` keeps them on /metrics.
    - `indicators`: `level` (default) exports the live indicator gauges per level (a, b summed
      over the level's units); `unit` adds one series per unit; `off` none.
    """

    interfaces: Literal["admin_up", "all", "linked"] = "admin_up"
    interfaces_path: Literal["separate", "main"] = "separate"
    indicators: Literal["level", "unit", "off"] = "level"


class HttpConfig(_Section):
    """The HTTP server for /metrics, health and the API."""

    listen: str = "127.0.0.1:9105"
    #: Serve beyond loopback without basic auth (web.config_file); logged loudly (issue 14).
    allow_insecure: bool = False
    #: GETs without a token, only while listening on loopback (or allow_insecure) with no basic auth.
    anonymous_reads: bool = True
    #: A connection must send a whole request head within this many seconds (slow clients).
    header_timeout: Seconds = 10.0
    #: A request must be answered within this many seconds (503 after).
    request_timeout: Seconds = 30.0

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return _check_host_port(value, "9105")

    @property
    def host(self) -> str:
        """Return the host part, without IPv6 brackets."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        """Return the port part."""
        return int(self.listen.rpartition(":")[2])


class WebConfigFile(_Section):
    """Where the exporter-toolkit web config is (TLS, basic auth); `--web.config.file` overrides it."""

    config_file: Path | None = None


class TrapConfig(_Section):
    """The SNMP trap receiver: where it listens. Traps are checked against each device's own profile."""

    enabled: bool = False
    listen: str = "0.0.0.0:162"
    #: Datagrams per second and burst allowed per source address; beyond, dropped as rate_limited.
    rate_limit: Annotated[float, Field(gt=0, le=100000)] = 50.0
    rate_burst: Annotated[int, Field(ge=1, le=100000)] = 200
    #: The receiver's SNMPv3 engine ID, in hex: where v3 informs go. None: one derived from the host name,
    #: the same after a restart (Cisco IOS does not discover it: `snmp-server engineID remote` names it).
    engine_id: str | None = None

    @field_validator("engine_id")
    @classmethod
    def _engine_id(cls, value: str | None) -> str | None:
        """Check an SnmpEngineID: 5 to 32 octets (RFC 3411, section 5), written in hex."""
        if value is None:
            return None
        text = value.strip().removeprefix("0x").removeprefix("0X").replace(":", "")
        try:
            octets = bytes.fromhex(text)
        except ValueError:
            raise ValueError("expected hex digits, e.g. 80004fb8046e65746d6f6e") from None
        if not 5 <= len(octets) <= 32:
            raise ValueError(f"an SNMP engine ID has 5 to 32 octets (RFC 3411), not {len(octets)}")
        return octets.hex()

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        value = _check_host_port(value, "162")
        host = value.rpartition(":")[0].strip("[]")
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError("the trap receiver listens on an IPv4 address, e.g. 0.0.0.0:162") from None
        return value

    @property
    def host(self) -> str:
        """Return the host part."""
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        """Return the port part."""
        return int(self.listen.rpartition(":")[2])


class MqttConfig(_Section):
    """The MQTT broker that receives events and retained state."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    ca_file: Path | None = None
    topic_prefix: Annotated[str, Field(pattern=r"^[^#+]+$")] = "netmon"
    client_id: str | None = None
    keepalive: Annotated[int, Field(ge=5, le=3600)] = 30


class StateConfig(_Section):
    """Hysteresis, flap detection and which links a unit is reached through."""

    down_after: Annotated[int, Field(ge=1, le=100)] = 3
    up_after: Annotated[int, Field(ge=1, le=100)] = 2
    flap_changes: Annotated[int, Field(ge=1, le=1000)] = 4
    flap_window: Seconds = 900.0
    uplink_kinds: tuple[LinkKind, ...] = (LinkKind.WAN, LinkKind.MAN, LinkKind.TSLCD, LinkKind.INTERNET)


_OBJECT_REF = re.compile(r"^(device|link|service|unit):\S+$")


class MaintenanceConfig(_Section):
    """A maintenance window: one-off (start, end) or recurring (every, at, duration; weekly on days)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    objects: Annotated[list[str], Field(min_length=1)]
    start: datetime | None = None
    end: datetime | None = None
    every: Literal["daily", "weekly"] | None = None
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = []
    at: time | None = None
    duration: Seconds | None = None
    reason: str = ""

    @field_validator("objects")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not _OBJECT_REF.match(ref):
                raise ValueError(f"{ref!r}: expected device:NAME, link:NAME, service:NAME or unit:CODE")
        return value

    @model_validator(mode="after")
    def _one_kind_of_window(self) -> Self:
        if self.every is None:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs start and end; a recurring one needs every, at and duration")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("start and end need a UTC offset, e.g. 2026-12-01T22:00:00+07:00")
            if self.end <= self.start:
                raise ValueError("end must be after start")
            return self
        if self.start is not None or self.end is not None:
            raise ValueError("a recurring window has every/at/duration, not start/end")
        if self.at is None or self.duration is None:
            raise ValueError("a recurring window needs at (HH:MM, local time) and duration (seconds)")
        if self.every == "weekly" and not self.days:
            raise ValueError("a weekly window needs days, e.g. [sat, sun]")
        if self.every == "daily" and self.days:
            raise ValueError("days only apply to weekly windows")
        return self


class AvailabilityConfig(_Section):
    """How often today's availability roll-up is refreshed (seconds)."""

    rollup_interval: Seconds = 300.0


class LoggingConfig(_Section):
    """Log level and format (auto: JSON when stdout is not a terminal)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


Ratio = Annotated[float, Field(ge=0, le=1)]

#: Thresholds of the built-in indicators' accounting rules (shares of the period, 0..1).
INDICATOR_RULES: dict[str, float] = {
    "lan_min_up": 0.9,
    "connected_min_up": 0.9,
    "vc_min_up": 0.5,
}


class IndicatorsConfig(_Section):
    """Indicator definitions beyond the built-in set, and the thresholds their rules use."""

    builtin: bool = True
    definitions: list[Path] = []
    rules: dict[str, Ratio] = INDICATOR_RULES

    @field_validator("rules")
    @classmethod
    def _with_defaults(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if not re.match(r"^[a-z][a-z0-9_]*$", name):
                raise ValueError(f"rule name {name!r} must be lower-case letters, digits and '_'")
        return {**INDICATOR_RULES, **value}


class DiscoveryConfig(_Section):
    """Where `netmon discover` may sweep, how fast, and what it tries (see docs/discovery.md)."""

    #: Networks a sweep may cover; empty refuses every sweep (nothing is swept by accident).
    allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    #: Echo requests per second: a /16 at 200/s takes about 5.5 minutes.
    rate: Annotated[float, Field(gt=0, le=20_000)] = 200.0
    timeout: Seconds = 1.0
    #: SNMP profiles tried in order when --profiles is not given (default: every profile).
    profiles: list[str] = []
    #: The first device of the tree (address or sysName) when the station's gateway does not tell.
    root: str | None = None
    #: The unit proposed for new devices whose parent's unit is unknown.
    unit: str | None = None
    #: Seconds between neighbour (LLDP/CDP) polls of the topology poll class.
    topology_interval: Annotated[float, Field(ge=60, le=7 * 86400)] = 21_600.0


class Config(_Section):
    """The whole netmon configuration."""

    database: DatabaseConfig = DatabaseConfig()
    snmp_profiles: dict[str, SnmpProfile] = {}
    polling: PollingConfig = PollingConfig()
    http: HttpConfig = HttpConfig()
    metrics: MetricsConfig = MetricsConfig()
    web: WebConfigFile = WebConfigFile()
    traps: TrapConfig = TrapConfig()
    mqtt: MqttConfig = MqttConfig()
    logging: LoggingConfig = LoggingConfig()
    state: StateConfig = StateConfig()
    maintenance: list[MaintenanceConfig] = []
    availability: AvailabilityConfig = AvailabilityConfig()
    indicators: IndicatorsConfig = IndicatorsConfig()
    discovery: DiscoveryConfig = DiscoveryConfig()
    poller: PollerConfig = PollerConfig()
    timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("snmp_profiles")
    @classmethod
    def _profile_names(cls, value: dict[str, SnmpProfile]) -> dict[str, SnmpProfile]:
        for name in value:
            if not _PROFILE_NAME.match(name):
                raise ValueError(f"profile name {name!r} must be letters, digits, '_', '.' or '-'")
        return value

    @model_validator(mode="after")
    def _discovery_profiles_exist(self) -> Self:
        unknown = [name for name in self.discovery.profiles if name not in self.snmp_profiles]
        if unknown:
            raise ValueError(f"discovery.profiles: no SNMP profile {', '.join(unknown)} in snmp_profiles")
        return self

    @model_validator(mode="after")
    def _groups_need_postgresql(self) -> Self:
        poller = self.poller
        if not poller.clustered and poller.model_dump() != PollerConfig().model_dump():
            raise ValueError("poller: groups, failover_delay and heartbeat need poller.name (several pollers)")
        if poller.clustered and not self.database.url.reveal().startswith("postgresql"):
            raise ValueError("poller: several pollers (poller.name, groups) need PostgreSQL (database.url)")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder of zones: IsADirectoryError
            raise ValueError(f"unknown time zone {value!r} (expected e.g. Asia/Ho_Chi_Minh)") from None
        return value

    def redacted(self) -> dict[str, Any]:
        """Return the config as JSON-ready data with every secret shown as ***."""
        return self.model_dump(mode="json")


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Load the config file (or the defaults when *path* is None) and apply NETMON_* overrides."""
    environ = os.environ if environ is None else environ
    located = _read(path) if path is not None else Located("<defaults>", {}, {})
    if located.data is None:
        located = Located(located.source, {}, {})
    if not isinstance(located.data, dict):
        raise ConfigError([Issue(source=located.source, line=1, where="", message="the config must be a mapping")])
    data: dict[str, Any] = located.data
    origins = _apply_env(data, environ)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_issue(err, located, origins) for err in exc.errors()]) from None


def _read(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Issue(source=str(path), line=None, where="", message="no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Issue(source=str(path), line=None, where="", message=f"cannot read: {exc}")]) from None
    try:
        return load_yaml(text, path)
    except YamlSyntaxError as exc:
        raise ConfigError([exc.issue]) from None


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> dict[DocPath, str]:
    """Apply NETMON_SECTION__KEY=value overrides in place; return path -> variable name."""
    origins: dict[DocPath, str] = {}
    sections = set(Config.model_fields)
    for var in sorted(environ):
        if not var.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX) :].split("__")]
        if parts[0] not in sections and len(parts) == 1:
            continue  # NETMON_CONFIG and friends are not overrides
        node = data
        path: DocPath = ()
        for part in parts[:-1]:
            key = _match_key(node, part)
            child = node.get(key)
            if child is None:
                child = node[key] = {}
                origins.setdefault((*path, key), var)
            elif not isinstance(child, dict):
                issue = Issue(
                    source=_ENV_SOURCE, line=None, where=var, message=f"{dotted((*path, key))} is not a section"
                )
                raise ConfigError([issue])
            node, path = child, (*path, key)
        key = _match_key(node, parts[-1])
        node[key] = environ[var]
        origins[(*path, key)] = var
    return origins


def _match_key(node: Mapping[str, Any], part: str) -> str:
    """Map an env segment to an existing key: `lab_v2c` matches a profile named `lab-v2c`."""
    for key in node:
        if isinstance(key, str) and key.lower().replace("-", "_") == part:
            return key
    return part


def _issue(err: Mapping[str, Any], located: Located, origins: Mapping[DocPath, str]) -> Issue:
    loc: DocPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "lax-"))))
    message = validation_message(err)
    for end in range(len(loc), 0, -1):
        var = origins.get(loc[:end])
        if var is not None:
            return Issue(source=_ENV_SOURCE, line=None, where=f"{var} ({dotted(loc)})", message=message)
    return Issue(source=located.source, line=located.line(loc), where=dotted(loc), message=message)
