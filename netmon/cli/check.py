"""`netmon check-config`: validate the config and show it with its secrets redacted."""

from __future__ import annotations

import typer

from netmon.cli.common import Command, ConfigOpt, JsonOpt, config_path, handled, load, out, print_json

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `check-config` to *app*."""
    app.command("check-config", cls=Command, short_help="Validate the config; print it with secrets as ***.")(
        check_config
    )


@handled
def check_config(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the config and print it with every secret shown as ***.

    Example: netmon check-config --config config/netmon.example.yaml --json
    """
    from netmon.api.access import check_exposure  # noqa: PLC0415 (aiohttp and SQLAlchemy: not for --help)

    cfg = load(config)
    check_exposure(cfg.http, cfg.web.config_file)  # as `run` does: a listen address it refuses is an error here
    source = str(config_path(config))
    if as_json:
        print_json({"source": source, "config": cfg.redacted()})
        return
    out.print(f"config OK: {source}", markup=False)
    out.print(f"  database:  {cfg.database.url}", markup=False)
    for name, profile in cfg.snmp_profiles.items():
        level = f" {profile.security_level}" if profile.security_level else ""
        level += f", context {profile.context!r}" if profile.context else ""
        out.print(f"  snmp:      {name} (v{profile.version}{level}, port {profile.port})", markup=False)
    for name in ("ping", "snmp", "host_resources"):
        poll = getattr(cfg.polling, name)
        out.print(f"  poll:      {name} every {poll.interval:g} s, timeout {poll.timeout:g} s, retries {poll.retries}")
    out.print(f"  http:      {cfg.http.listen}", markup=False)
    out.print(f"  mqtt:      {cfg.mqtt.host}:{cfg.mqtt.port}{'' if cfg.mqtt.enabled else ' (disabled)'}", markup=False)
