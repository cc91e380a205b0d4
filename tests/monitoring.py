"""Helpers for tests that run the monitor: a fast config, an inventory import, an in-process daemon."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from netmon.api.tokens import TokenStore
from netmon.config import Config, SnmpProfile
from netmon.daemon import Daemon
from netmon.inventory import schema
from netmon.inventory.files import read_files
from netmon.inventory.store import Store
from netmon.pollers.base import utcnow

#: Fast rounds: one echo per second, SNMP every second, service checks every 2 s, down after 2 lost rounds, up after 1.
FAST: dict[str, Any] = {
    "polling": {
        "ping": {"interval": 1, "timeout": 0.3, "retries": 0, "count": 1, "packet_interval": 0},
        "snmp": {"interval": 1, "timeout": 1.0, "retries": 1},
        "host_resources": {"interval": 3600, "timeout": 0.5, "retries": 0},
        "http": {"interval": 2, "timeout": 1.0},  # service checks (inventory `services`)
        "tcp": {"interval": 2, "timeout": 1.0},
        "concurrency": 64,
    },
    "state": {"down_after": 2, "up_after": 1, "flap_changes": 3, "flap_window": 300},
    "http": {"listen": "127.0.0.1:0"},
    "mqtt": {"enabled": False},
    "availability": {"rollup_interval": 3600},
}


def monitor_config(db_url: str, profiles: Mapping[str, SnmpProfile], **sections: Any) -> Config:
    """Return a fast test config on *db_url* with *profiles*; *sections* replace whole sections."""
    data: dict[str, Any] = {**FAST, "database": {"url": db_url}, **sections}
    data["snmp_profiles"] = dict(profiles)  # validated SnmpProfile objects are taken as they are
    return Config.model_validate(data)


def import_inventory(db_url: str, text: str, folder: Path, profiles: Mapping[str, SnmpProfile]) -> None:
    """Migrate the database and import an inventory given as YAML text."""
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    engine.dispose()
    path = folder / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    store = Store.open(db_url)
    try:
        store.import_parsed(read_files([path]), profiles=list(profiles))
    finally:
        store.close()


def write_config(config: Config, path: Path, **changes: Any) -> Path:
    """Write *config* as a file `netmon run` can read (secrets revealed: a test's own), with *changes*."""
    data = config.model_dump(mode="json")
    for name, profile in config.snmp_profiles.items():
        for key in ("community", "auth_key", "priv_key"):
            value = getattr(profile, key)
            data["snmp_profiles"][name][key] = value.reveal() if value is not None else None
    data["database"]["url"] = config.database.url.reveal()
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    return path


@asynccontextmanager
async def running(config: Config, load_config: Callable[[], Config] | None = None) -> AsyncIterator[Daemon]:
    """Run a daemon in this event loop until the block ends; stop it gracefully (bounded).

    *load_config* is what a reload reads (default: the same config again).
    """
    daemon = Daemon(config, registry=CollectorRegistry(), load_config=load_config)
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(daemon.run(stop, on_started=lambda _d: started.set()), name="daemon-under-test")
    try:
        async with asyncio.timeout(30):
            done, _ = await asyncio.wait([task, asyncio.create_task(started.wait())], return_when="FIRST_COMPLETED")
        if task in done:
            task.result()  # start-up failed: raise its error
        yield daemon
    finally:
        stop.set()
        done, _ = await asyncio.wait([task], timeout=15)
        if not done:
            for pending in asyncio.all_tasks():  # say what the daemon is stuck on
                pending.print_stack()
            task.cancel()
            raise TimeoutError("the daemon did not stop within 15 s")
        task.result()


def make_token(daemon: Daemon, scope: str = "write", name: str | None = None) -> str:
    """Create an API token of *scope* in the daemon's database; return it (for `Authorization: Bearer`)."""
    token, _ = TokenStore(daemon.engine).create(name or f"test-{scope}", scope, None, utcnow())
    return token


class RecordingLog:
    """A logger that keeps every line (event and fields) it is given."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def _add(self, level: str, event: str, **fields: Any) -> None:
        self.lines.append((level, event, fields))

    def debug(self, event: str, **fields: Any) -> None:
        self._add("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._add("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._add("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._add("error", event, **fields)


class LoopTicks:
    """Counts the turns another task gets on the event loop while the block runs (`async with LoopTicks() as t`).

    A test that some work gives the loop back asserts `t.count > 0` after the block: no timing.
    """

    def __init__(self) -> None:
        self.count = 0
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while not self._done.is_set():
            self.count += 1
            await asyncio.sleep(0)

    async def __aenter__(self) -> LoopTicks:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # the ticker's first turn
        self.count = 0
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        if self._task is not None:
            await self._task
