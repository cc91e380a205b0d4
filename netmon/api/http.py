"""The HTTP server (aiohttp, in the daemon's event loop): /metrics, /healthz, /readyz and /api/v1.

Reads come from the in-memory live view; the outage history is read from the database in a
worker thread, never on the loop. Errors are JSON: {"error": "..."} with 400 for bad queries.
"""

from __future__ import annotations

import errno
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from netmon.config import HttpConfig
from netmon.errors import InputError, NetmonError
from netmon.inventory.models import Level
from netmon.inventory.views import units_below
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import Window
from netmon.monitor.outages import OutageRecord, parse_since
from netmon.pollers.base import utcnow

__all__ = ["Backend", "HttpServer"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: A request's filters: the query, the units it selects (with those below) and the level.
_Query = tuple[Mapping[str, str], set[str] | None, Level | None]
#: JSON responses keep Vietnamese readable in curl ("Phường", not "Ph\u01b0\u1eddng"); the body is UTF-8.
_json_response = functools.partial(web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False))


class Backend(Protocol):
    """What the HTTP server needs from the daemon."""

    registry: CollectorRegistry

    @property
    def live(self) -> LiveState:
        """Return the live view."""
        ...

    def ready(self) -> list[str]:
        """Return why the daemon is not ready yet (empty when ready), without I/O."""
        ...

    async def db_problem(self) -> str | None:
        """Return None when the database answers, else why not."""
        ...

    async def outages(self, *, open_only: bool, since: datetime | None) -> list[OutageRecord]:
        """Read outages from the database."""
        ...

    async def add_window(self, window: Window) -> Window:
        """Store and apply an API maintenance window."""
        ...

    async def remove_window(self, window_id: int) -> bool:
        """Delete an API maintenance window."""
        ...

    async def indicators(self, period: str, level: str | None) -> list[dict[str, Any]]:
        """Compute indicator rows."""
        ...


class HttpServer:
    """Serves the app on `http.listen`; `port` is the bound port (useful with port 0)."""

    def __init__(self, config: HttpConfig, backend: Backend) -> None:
        self._config = config
        self._backend = backend
        self._runner: web.AppRunner | None = None
        self.port = config.port

    async def __aenter__(self) -> Self:
        """Bind and start serving."""
        app = web.Application(middlewares=[_errors])
        routes = _Routes(self._backend)
        app.router.add_get("/", routes.index)
        app.router.add_get("/metrics", routes.metrics)
        app.router.add_get("/healthz", routes.healthz)
        app.router.add_get("/readyz", routes.readyz)
        app.router.add_get("/api/v1/devices", routes.devices)
        app.router.add_get("/api/v1/links", routes.links)
        app.router.add_get("/api/v1/outages", routes.outages)
        app.router.add_get("/api/v1/maintenance", routes.maintenance)
        app.router.add_post("/api/v1/maintenance", routes.add_maintenance)
        app.router.add_delete("/api/v1/maintenance/{id:\\d+}", routes.remove_maintenance)
        app.router.add_get("/api/v1/indicators", routes.indicators)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._config.host, self._config.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            hint = " (another process has it: set http.listen in the config, or NETMON_HTTP__LISTEN=127.0.0.1:9106)"
            reason = f"{exc.strerror or exc}{hint if exc.errno == errno.EADDRINUSE else ''}"
            raise NetmonError(f"http.listen {self._config.listen}: cannot listen: {reason}") from exc
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """Return the base URL."""
        host = self._config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except InputError as exc:
        return _json_response({"error": str(exc)}, status=400)
    except NetmonError as exc:
        return _json_response({"error": str(exc)}, status=503)


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise InputError(f"{name}: expected true or false, not {value!r}")


class _Routes:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    async def index(self, _request: web.Request) -> web.Response:
        paths = ["/metrics", "/healthz", "/readyz", "/api/v1/devices", "/api/v1/links", "/api/v1/outages"]
        paths += ["/api/v1/maintenance", "/api/v1/indicators"]
        return _json_response({"service": "netmon", "endpoints": paths})

    async def metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self._backend.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, _request: web.Request) -> web.Response:
        return _json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        problems = list(self._backend.ready())
        db = await self._backend.db_problem()
        if db is not None:
            problems.append(f"database: {db}")
        if problems:
            return _json_response({"status": "not ready", "problems": problems}, status=503)
        return _json_response({"status": "ready"})

    def _units(self, query: Mapping[str, str]) -> set[str] | None:
        code = query.get("unit")
        if code is None:
            return None
        inventory = self._backend.live.inventory
        if code not in inventory.units:
            raise InputError(f"unit: no unit {code!r}")
        return units_below(inventory, code) | {code}

    def _row(self, scope: _Query, kind: str, name: str, unit_code: str, field: tuple[str, str]) -> Any:
        """Return the fields every object shares, or None when the query's filters leave it out."""
        live = self._backend.live
        unit, memory = live.inventory.units[unit_code], live.state_of((kind, name))
        query, units, level = scope
        label, value = field  # role of a device, kind of a link
        if (units is not None and unit_code not in units) or (level is not None and unit.level is not level):
            return None
        if query.get(label, value) != value or query.get("state", memory.state.value) != memory.state.value:
            return None
        return {
            "name": name,
            label: value,
            "unit": unit_code,
            "level": unit.level.value,
            "state": memory.state.value,
            "since": memory.since.isoformat() if memory.since else None,
            "root_cause": memory.root_cause,
            "flapping": memory.flapping,
        }

    async def devices(self, request: web.Request) -> web.Response:
        live, rows = self._backend.live, []
        query = (request.query, self._units(request.query), _level(request.query))
        for name, device in live.inventory.devices.items():
            row = self._row(query, "device", name, device.unit, ("role", device.role.value))
            if row is not None:
                ping = live.latest[name].ping
                rows.append(
                    {
                        **row,
                        "address": device.address,
                        "enabled": device.enabled,
                        "rtt_seconds": ping.rtt_avg if ping else None,
                        "loss_ratio": ping.loss_ratio if ping else None,
                        "tags": list(device.tags),
                    }
                )
        return _json_response({"devices": rows, "count": len(rows)})

    async def links(self, request: web.Request) -> web.Response:
        rows = []
        query = (request.query, self._units(request.query), _level(request.query))
        for name, link in self._backend.live.inventory.links.items():
            row = self._row(query, "link", name, link.unit, ("kind", link.kind.value))
            if row is not None:
                rows.append(
                    {
                        **row,
                        "device": link.device,
                        "interface": link.interface,
                        "capacity_mbps": link.capacity_mbps,
                        "provider": link.provider,
                    }
                )
        return _json_response({"links": rows, "count": len(rows)})

    async def outages(self, request: web.Request) -> web.Response:
        query = request.query
        since = parse_since(query["since"], utcnow(), where="since") if "since" in query else None
        units = self._units(query)
        records = await self._backend.outages(open_only=_flag(query, "open"), since=since)
        unit_of = self._backend.live.topology.unit_of
        rows = [
            {**record.to_dict(), "unit": unit_of.get((record.kind, record.name)), "duration_seconds": record.duration}
            for record in records
            if (units is None or unit_of.get((record.kind, record.name)) in units)
            and query.get("cause", record.cause) == record.cause
            and query.get("kind", record.kind) == record.kind
        ]
        return _json_response({"outages": rows, "count": len(rows)})

    async def maintenance(self, _request: web.Request) -> web.Response:
        windows = self._backend.live.schedule.windows()
        now = utcnow()
        zone = self._backend.live.schedule.zone
        rows = [{**w.to_dict(), "active": w.active(now, zone)} for w in windows]
        return _json_response({"windows": rows, "count": len(rows)})

    async def add_maintenance(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise InputError("body: expected JSON") from None
        if not isinstance(body, dict):
            raise InputError("body: expected a JSON object")
        window = _window(body)
        stored = await self._backend.add_window(window)
        return _json_response(stored.to_dict(), status=201)

    async def remove_maintenance(self, request: web.Request) -> web.Response:
        if not await self._backend.remove_window(int(request.match_info["id"])):
            return _json_response({"error": "no such API maintenance window"}, status=404)
        return _json_response({"deleted": int(request.match_info["id"])})

    async def indicators(self, request: web.Request) -> web.Response:
        rows = await self._backend.indicators(request.query.get("period", "live"), request.query.get("level"))
        return _json_response({"indicators": rows, "count": len(rows)})


def _level(query: Mapping[str, str]) -> Level | None:
    text = query.get("level")
    if text is None:
        return None
    try:
        return Level(text)
    except ValueError:
        raise InputError(f"level: expected one of {', '.join(m.value for m in Level)}, not {text!r}") from None


def _window(body: Mapping[str, Any]) -> Window:
    """Validate an API window: name, objects, starts_at (default now), ends_at, reason."""
    name, objects, ends = body.get("name"), body.get("objects"), body.get("ends_at")
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        raise InputError("name: a text of 1 to 128 characters is required")
    if not isinstance(objects, list) or not objects or not all(isinstance(o, str) for o in objects):
        raise InputError("objects: a list like ['device:NAME', 'link:NAME', 'unit:CODE'] is required")
    for ref in objects:
        if ref.partition(":")[0] not in ("device", "link", "unit") or not ref.partition(":")[2]:
            raise InputError(f"objects: {ref!r}: expected device:NAME, link:NAME or unit:CODE")
    starts = _instant(body.get("starts_at"), "starts_at") if body.get("starts_at") else utcnow()
    if not isinstance(ends, str):
        raise InputError("ends_at: an ISO date/time with offset is required")
    ending = _instant(ends, "ends_at")
    if ending <= starts:
        raise InputError("ends_at: must be after starts_at")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise InputError("reason: expected text")
    return Window(name=name, objects=tuple(objects), source="api", starts_at=starts, ends_at=ending, reason=reason)


def _instant(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(f"{where}: expected an ISO date/time with offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where}: {value!r} is not an ISO date/time") from None
    if parsed.tzinfo is None:
        raise InputError(f"{where}: {value!r} needs a UTC offset, e.g. +07:00")
    return parsed
