"""What a reload (SIGHUP) accepts: a config that is whole and still fits the stored inventory.

A reload replaces a config that is running and known to work, so it is stricter than a start:

- an empty config file (truncated by an editor, or written to a full disk) is refused: every
  setting would fall back to its default and the file's SNMP profiles, maintenance windows and
  thresholds would silently go away until the next restart (issue 15, failure 2);
- a config that lacks an SNMP profile the stored inventory still names is refused, naming the
  profile and the devices that use it.

Both raise ConfigError (exit code 2 on the command line); the daemon then keeps the running
config. Loading itself follows the one input-error rule of `netmon.yamlsrc`: any exception from
the YAML parser or a constructor becomes `file:line: key: message`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from netmon.config import Config, load_config
from netmon.errors import ConfigError, Issue
from netmon.inventory.spec import Inventory
from netmon.yamlsrc import YamlSyntaxError, load_yaml

__all__ = ["check_profiles", "reload_loader"]

#: Devices named in one "profile is missing" issue; the rest are counted.
_SHOWN = 5


def reload_loader(path: Path | None) -> Callable[[], Config]:
    """Return the function a reload calls: load *path*, refusing an empty file.

    Raises:
        ConfigError: the file is empty, unreadable or invalid (each issue with file:line: key).
    """

    def load() -> Config:
        if path is not None:
            _refuse_empty(path)
        return load_config(path)

    return load


def _refuse_empty(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return  # load_config reports it with the same words as at start
    try:
        data = load_yaml(text, path).data
    except YamlSyntaxError:
        return  # the same: load_config reports it
    if data is None or data == {}:
        message = "the config file is empty: refusing to fall back to the defaults (keeping the running config)"
        raise ConfigError([Issue(source=str(path), line=1, where="", message=message)])


def check_profiles(config: Config, inventory: Inventory, source: str) -> None:
    """Refuse a config that lacks an SNMP profile that an enabled or disabled stored device names.

    Raises:
        ConfigError: one issue per missing profile, naming up to five of its devices.
    """
    users: dict[str, list[str]] = {}
    for name, device in sorted(inventory.devices.items()):
        if device.snmp is not None and device.snmp not in config.snmp_profiles:
            users.setdefault(device.snmp, []).append(name)
    if not users:
        return
    issues = []
    for profile, devices in sorted(users.items()):
        shown = ", ".join(devices[:_SHOWN]) + (f" and {len(devices) - _SHOWN} more" if len(devices) > _SHOWN else "")
        issues.append(
            Issue(
                source=source,
                line=None,
                where=f"snmp_profiles.{profile}",
                message=f"missing, but the inventory still uses it ({shown})",
            )
        )
    raise ConfigError(issues)
