"""`netmon run`: the monitor itself (polling, state, outages, /metrics, the API, MQTT)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from netmon.cli.common import Command, ConfigOpt, config_path, err, handled, load

if TYPE_CHECKING:
    from netmon.config import Config
    from netmon.daemon import Daemon

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `run` to *app*."""
    app.command("run", cls=Command, short_help="Run the monitor: polling, state, outages, /metrics, API.")(run)


@handled
def run(
    config: ConfigOpt = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            min=1,
            metavar="SECONDS",
            help="Stop after this many seconds (demos); default: until SIGTERM/SIGINT.",
        ),
    ] = None,
    web_config: Annotated[
        Path | None,
        typer.Option(
            "--web.config.file",
            metavar="FILE",
            help="Exporter-toolkit web config (TLS, basic auth); overrides web.config_file.",
        ),
    ] = None,
) -> None:
    """Run the monitor: poll on schedule, track state and outages, serve /metrics and the API.

    Needs a migrated database (`netmon db upgrade`) with an inventory. SIGTERM or Ctrl-C stops it
    gracefully (exit code 0): rounds in flight finish or are cancelled and state is written.
    SIGHUP re-reads the config and the inventory without losing state or open outages. Logs go
    to stdout: JSON lines unless stdout is a terminal.

    Example: netmon --config config/netmon.example.yaml run --duration 5
    """
    from netmon.loading import reload_loader  # noqa: PLC0415 (lazy: keeps --help light)

    def with_web(loaded: Config) -> Config:
        if web_config is None:
            return loaded
        return loaded.model_copy(update={"web": loaded.web.model_copy(update={"config_file": web_config})})

    cfg = with_web(load(config, service=True))
    reread = reload_loader(config_path(config))  # a reload refuses an empty file (issue 15)
    asyncio.run(_run_daemon(cfg, duration, lambda: with_web(reread())))


async def _run_daemon(cfg: Config, duration: float | None, reload_config: Callable[[], Config]) -> None:
    from netmon.daemon import Daemon  # noqa: PLC0415 (lazy: the daemon pulls in aiohttp, APScheduler, MQTT)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    daemon = Daemon(cfg, load_config=reload_config)
    loop.add_signal_handler(signal.SIGHUP, daemon.signalled, signal.SIGHUP)
    if duration is not None:
        loop.call_later(duration, stop.set)

    def started(daemon: Daemon) -> None:
        if daemon.http is not None:
            url = daemon.http.url
            err.print(f"netmon: metrics at {url}/metrics, API at {url}/api/v1/devices (/links, /outages)", markup=False)

    await daemon.run(stop, on_started=started)
