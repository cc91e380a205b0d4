"""The HTTP server (aiohttp, in the daemon's event loop): /metrics, /healthz, /readyz and /api/v1.

Reads come from the in-memory live view; the outage history is read from the database in a
worker thread, never on the loop. Errors are JSON: {"error": "...", "status": N} (guard.py), 400
for bad queries. Who may call what, TLS, limits and the audit trail: access.py, guard.py,
webconfig.py (issue 14); the request and response shapes: openapi.py, served at
/api/v1/openapi.json.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from netmon.api.access import Access
from netmon.api.guard import PRINCIPAL, Guard, read_json
from netmon.api.openapi import spec
from netmon.api.pages import Page, Rows, page_body
from netmon.config import HttpConfig
from netmon.errors import InputError, NetmonError, NotFoundError
from netmon.inventory.models import Level, ServiceCheck
from netmon.inventory.spec import ServiceSpec
from netmon.inventory.views import units_below
from netmon.kernel import utcnow
from netmon.monitor.live import LiveState
from netmon.monitor.maintenance import Window
from netmon.monitor.outages import CAUSES, OUTAGE_KINDS, parse_since
from netmon.pollers.samples import PingSample
from netmon.pollers.service import ServiceSample
from netmon.sinks.exposition import SLICE, Exposition, Path

__all__ = ["Backend", "HttpServer"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: A request's filters: the query, the units it selects (with those below) and the level.
_Query = tuple[Mapping[str, str], set[str] | None, Level | None]
#: JSON responses keep Vietnamese readable in curl ("Phường", not "Ph\u01b0\u1eddng"); the body is UTF-8.
_json_response = functools.partial(web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False))


#: JSON answers keep Vietnamese as UTF-8 (readable in curl), not \u escapes.
_json_response = functools.partial(web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False))


class Backend(Protocol):
    """What the HTTP server needs from the daemon."""

    registry: CollectorRegistry
    #: The per-object exposition (`netmon.sinks.exposition`); None serves the registry alone.
    exposition: Exposition | None

    @property
    def interfaces_on_main(self) -> bool:
        """Tell whether the interface families are on /metrics too (`metrics.interfaces_path: main`)."""
        ...

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

    async def outage_rows(
        self, *, open_only: bool, since: str | None, units: set[str] | None, cause: str | None, kind: str | None
    ) -> Rows[Any]:
        """Return the selected outages (computed and cached off the loop; a page serialised when served)."""
        ...

    async def add_window(self, window: Window) -> Window:
        """Store and apply an API maintenance window."""
        ...

    async def remove_window(self, window_id: int) -> bool:
        """Delete an API maintenance window."""
        ...

    async def indicator_rows(
        self, *, period: str, level: str | None, units: set[str] | None, indicator: str | None
    ) -> Rows[Any]:
        """Return indicator rows (computed and cached off the loop; a page serialised when served)."""
        ...

    def request_reload(self) -> None:
        """Ask for a reload of the config and the inventory."""
        ...


class HttpServer:
    """Serves the app on `http.listen`; `port` is the bound port (useful with port 0)."""

    def __init__(self, config: HttpConfig, backend: Backend, access: Access | None = None, *, log: Any = None) -> None:
        self._config = config
        self._backend = backend
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.port = config.port
        self._log = log if log is not None else structlog.get_logger("netmon.http")
        self.access = access if access is not None else Access.open(config, None, None, log=self._log)
        self.guard = Guard(self.access.policy, self.access.authenticate, self._log)

    async def __aenter__(self) -> Self:
        """Bind and start serving (NetmonError when the address cannot be bound)."""
        app = web.Application(middlewares=self.guard.middlewares, client_max_size=self.access.policy.body_limit)
        self.app = app
        routes = _Routes(self._backend, self.access, self.access.policy.json_depth)
        app.router.add_get("/", routes.index)
        app.router.add_get("/metrics", routes.metrics)
        app.router.add_get("/metrics/interfaces", routes.interface_metrics)
        app.router.add_get("/healthz", routes.healthz)
        app.router.add_get("/readyz", routes.readyz)
        app.router.add_get("/api/v1/devices", routes.devices)
        app.router.add_get("/api/v1/links", routes.links)
        app.router.add_get("/api/v1/services", routes.services)
        app.router.add_get("/api/v1/outages", routes.outages)
        app.router.add_get("/api/v1/maintenance", routes.maintenance)
        app.router.add_post("/api/v1/maintenance", routes.add_maintenance)
        app.router.add_delete("/api/v1/maintenance/{id:\\d+}", routes.remove_maintenance)
        app.router.add_get("/api/v1/indicators", routes.indicators)
        app.router.add_get("/api/v1/audit", routes.audit)
        app.router.add_post("/api/v1/reload", routes.reload)
        app.router.add_get("/api/v1/openapi.json", routes.openapi)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0, keepalive_timeout=15.0
        )
        await self._runner.setup()
        tls = self.access.web.tls if self.access.web is not None else None
        site = _GuardedSite(self._runner, self._config.host, self._config.port, ssl_context=tls, guard=self.guard)
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
        scheme = "https" if self.access.policy.tls else "http"
        return f"{scheme}://{host}:{self.port}"


class _GuardedSite(web.TCPSite):
    """A TCPSite whose connections go through the guard (per-client cap, request-head deadline)."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, *, ssl_context: Any, guard: Guard) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self._guard = guard

    async def start(self) -> None:
        """Bind like TCPSite.start, with the guarded protocol factory."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None  # noqa: S101 (set up by AppRunner.setup)
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.factory(server),
            self._host,
            self._port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._guard.policy.header_timeout if self._ssl_context else None,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
        )


#: Bytes per write of a scrape's body: large enough that writes are few, small enough that the
#: socket's buffer, not a copy of the whole text, holds what the client has not read yet.
WRITE_SIZE = 256 * 1024


def _exposition_response(parts: list[bytes]) -> web.Response:
    """Answer with the exposition *parts* written a `WRITE_SIZE` batch at a time, after the handler.

    The pieces are never joined into one body: at 10k devices a scrape is 6 to 12 MB, and a
    joined body is copied again into the transport's buffer when the client reads slower than
    netmon writes. aiohttp writes the batches after the handler returns, waiting for the socket
    to drain between them; the middlewares still set the headers.

    A client that reads as fast as netmon writes (Prometheus on the same host) never makes the
    socket wait, and aiohttp then writes every batch in one step of the event loop: 9 MB in 16 ms
    on an idle machine, 35 to 50 ms at each /metrics scrape of the 10k benchmark (its loop watch).
    So the batches give the loop back every `SLICE` seconds, as the render does (`_batches`).
    """
    length = str(sum(map(len, parts)))  # known: no chunked encoding, and the client can check it
    return web.Response(body=_batches(parts), headers={"Content-Type": CONTENT_TYPE_LATEST, "Content-Length": length})


async def _batches(parts: list[bytes]) -> AsyncIterator[bytes]:
    """Yield *parts* joined `WRITE_SIZE` bytes at a time; await the event loop once `SLICE` seconds have gone.

    The loop is also given back before the first batch: the step that answered the request
    (the end of the render, the length of 70,000 pieces, the headers) is not the one that writes.
    """
    await asyncio.sleep(0)
    batch: list[bytes] = []
    size = 0
    started = time.perf_counter()
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= WRITE_SIZE:
            yield b"".join(batch)
            batch, size = [], 0
            if time.perf_counter() - started > SLICE:
                await asyncio.sleep(0)
                started = time.perf_counter()
    if batch:
        yield b"".join(batch)


def _shard(query: Mapping[str, str]) -> tuple[int, int] | None:
    """Read `shard` and `shards` (both or neither; 0 <= shard < shards <= 1024)."""
    if "shard" not in query and "shards" not in query:
        return None
    try:
        shard, shards = int(query.get("shard", "")), int(query.get("shards", ""))
    except ValueError:
        raise InputError("shard, shards: expected two integers, e.g. ?shard=0&shards=4") from None
    if not 0 <= shard < shards <= 1024:
        raise InputError(f"shard: expected 0 <= shard < shards <= 1024, not shard={shard} shards={shards}")
    return shard, shards


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise InputError(f"{name}: expected true or false, not {value!r}")


class _Routes:
    def __init__(self, backend: Backend, access: Access, depth: int) -> None:
        self._backend = backend
        self._access = access
        self._depth = depth

    async def index(self, _request: web.Request) -> web.Response:
        paths = ["/metrics", "/healthz", "/readyz", "/api/v1/devices", "/api/v1/links", "/api/v1/services"]
        paths += ["/api/v1/outages"]
        paths += ["/api/v1/maintenance", "/api/v1/indicators", "/api/v1/audit", "/api/v1/openapi.json"]
        return _json_response({"service": "netmon", "endpoints": paths})

    async def metrics(self, _request: web.Request) -> web.Response:
        parts = [generate_latest(self._backend.registry)]  # the daemon's own small families
        exposition = self._backend.exposition
        if exposition is not None:
            paths: tuple[Path, ...] = ("main", "interfaces") if self._backend.interfaces_on_main else ("main",)
            parts += await exposition.render_parts(paths)
        return _exposition_response(parts)

    async def interface_metrics(self, request: web.Request) -> web.Response:
        """Serve the netmon_interface_* families; `?shard=I&shards=N` keeps the devices whose crc32 % N == I."""
        exposition = self._backend.exposition
        parts: list[bytes] = []
        if exposition is not None:
            only: tuple[Path, ...] = ("interfaces",)
            parts = await exposition.render_parts(only, _shard(request.query))
        return _exposition_response(parts)

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
        try:
            return units_below(self._backend.live.inventory, code)
        except NotFoundError as exc:  # the CLI's wording, after the query parameter's name
            raise InputError(f"unit: {exc}") from None

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
                ping = live.fresh(name, PingSample.kind)
                ping = ping if isinstance(ping, PingSample) else None
                rows.append(
                    {
                        **row,
                        "address": device.address,
                        "enabled": device.enabled,
                        "rtt_seconds": ping.rtt_avg if ping else None,
                        "loss_ratio": ping.loss_ratio if ping else None,
                        "tags": list(device.tags),
                        "checks": {name: state.value for name, state in live.checks_of(name).items()},
                    }
                )
        return _json_response({"devices": rows, "count": len(rows)})

    async def links(self, request: web.Request) -> web.Response:
        rows = []
        query = (request.query, self._units(request.query), _level(request.query))
        live = self._backend.live
        for name, link in live.inventory.links.items():
            row = self._row(query, "link", name, link.unit, ("kind", link.kind.value))
            if row is not None:
                traffic = live.link_traffic(name)  # counters.py: wraps, restarts and resets give None
                in_use, out_use = traffic.utilisation(link.capacity_mbps) if traffic else (None, None)
                rows.append(
                    {
                        **row,
                        "device": link.device,
                        "interface": link.interface,
                        "capacity_mbps": link.capacity_mbps,
                        "provider": link.provider,
                        "in_bps": traffic.in_bps if traffic else None,
                        "out_bps": traffic.out_bps if traffic else None,
                        "in_utilisation": in_use,
                        "out_utilisation": out_use,
                    }
                )
        return _json_response({"links": rows, "count": len(rows)})

    async def services(self, request: web.Request) -> web.Response:
        live, rows = self._backend.live, []
        query = (request.query, self._units(request.query), _level(request.query))
        for name, service in live.inventory.services.items():
            row = self._row(query, "service", name, service.unit, ("check", service.check.value))
            if row is not None:
                check = live.fresh(name, ServiceSample.kind)
                rows.append({**row, **_service_fields(service, check if isinstance(check, ServiceSample) else None)})
        return web.json_response({"services": rows, "count": len(rows)})

    async def outages(self, request: web.Request) -> web.Response:
        query = request.query
        page = Page.parse(query)
        for name, known in (("cause", sorted(CAUSES.values())), ("kind", sorted(OUTAGE_KINDS))):
            if name in query and query[name] not in known:  # an empty answer would hide the typo
                raise InputError(f"{name}: expected one of {', '.join(known)}, not {query[name][:32]!r}")
        rows = await self._backend.outage_rows(
            open_only=_flag(query, "open"),
            since=query.get("since"),
            units=self._units(query),
            cause=query.get("cause"),
            kind=query.get("kind"),
        )
        return await _page(request, "outages", rows, page)

    async def maintenance(self, _request: web.Request) -> web.Response:
        windows = self._backend.live.schedule.windows()
        now = utcnow()
        zone = self._backend.live.schedule.zone
        rows = [{**w.to_dict(), "active": w.active(now, zone)} for w in windows]
        return _json_response({"windows": rows, "count": len(rows)})

    async def add_maintenance(self, request: web.Request) -> web.Response:
        body = await read_json(request, self._depth)
        if not isinstance(body, dict):
            raise InputError("body: expected a JSON object")
        window = replace(_window(body), author=request[PRINCIPAL])
        stored = await self._backend.add_window(window)
        await self._audit(request, "maintenance.create", f"maintenance:{stored.id}", name=stored.name)
        return _json_response(stored.to_dict(), status=201)

    async def remove_maintenance(self, request: web.Request) -> web.Response:
        text = request.match_info["id"]
        window_id = int(text) if len(text) <= 18 else -1  # longer ids do not exist (and int() may refuse them)
        if window_id < 0 or not await self._backend.remove_window(window_id):
            return _json_response({"error": "no such API maintenance window", "status": 404}, status=404)
        await self._audit(request, "maintenance.delete", f"maintenance:{window_id}")
        return _json_response({"deleted": window_id})

    async def reload(self, request: web.Request) -> web.Response:
        self._backend.request_reload()
        await self._audit(request, "reload", "config")
        return _json_response({"reload": "requested"}, status=202)

    async def audit(self, request: web.Request) -> web.Response:
        since = parse_since(request.query["since"], utcnow(), where="since") if "since" in request.query else None
        limit = _limit(request.query.get("limit", "100"))
        log = self._access.audit_log
        rows = await asyncio.to_thread(log.list, since=since, limit=limit) if log is not None else []
        return _json_response({"entries": [r.to_dict() for r in rows], "count": len(rows)})

    async def openapi(self, _request: web.Request) -> web.Response:
        return _json_response(spec())

    async def _audit(self, request: web.Request, action: str, target: str, **detail: Any) -> None:
        actor = request[PRINCIPAL]
        await self._access.record(actor=actor, action=action, target=target, source=request.remote or "?", **detail)

    async def indicators(self, request: web.Request) -> web.Response:
        query = request.query
        page = Page.parse(query)
        rows = await self._backend.indicator_rows(
            period=query.get("period", "live"),
            level=query.get("level"),
            units=self._units(query),
            indicator=query.get("indicator"),
        )
        return await _page(request, "indicators", rows, page)


async def _page(request: web.Request, key: str, rows: Rows[Any], page: Page) -> web.Response:
    """Answer one page of *rows*, serialised now, with `next` linking the following page (pages.py)."""
    body = await page_body(key, rows, page, lambda offset: str(request.rel_url.update_query(offset=offset)))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def _service_fields(service: ServiceSpec, check: ServiceSample | None) -> dict[str, Any]:
    """Return a service's own fields and its newest check (None until it has been checked)."""
    last = None
    if check is not None:
        days = check.cert_days_left()
        last = {
            "ts": check.ts.isoformat(),
            "status": check.status.value,
            "error": check.error,
            "duration_seconds": check.duration,
            "http_status": check.http_status,
            "cert_not_after": check.cert_not_after.isoformat() if check.cert_not_after else None,
            "cert_days_left": round(days, 3) if days is not None else None,
        }
    return {
        "device": service.device,
        "url": service.url,
        "address": service.address,
        "expect_status": service.expect_status if service.check is ServiceCheck.HTTP else None,
        "enabled": service.enabled,
        "last_check": last,
    }


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise InputError(f"limit: expected a whole number from 1 to 1000, not {text!r}")
    return int(text)


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
    if isinstance(name, str):
        name = name.strip()  # as the config's windows: "reboot " and "reboot" are one name
    if not isinstance(name, str) or not name or len(name) > 128:
        raise InputError("name: a text of 1 to 128 characters is required")
    if not isinstance(objects, list) or not objects or not all(isinstance(o, str) for o in objects):
        raise InputError("objects: a list like ['device:NAME', 'link:NAME', 'service:NAME', 'unit:CODE'] is required")
    for ref in objects:
        if ref.partition(":")[0] not in ("device", "link", "service", "unit") or not ref.partition(":")[2]:
            raise InputError(f"objects: {ref!r}: expected device:NAME, link:NAME, service:NAME or unit:CODE")
    starts = _instant(body.get("starts_at"), "starts_at") if body.get("starts_at") else utcnow()
    if not isinstance(ends, str):
        raise InputError("ends_at: an ISO date/time with offset is required")
    ending = _instant(ends, "ends_at")
    if ending <= starts:
        raise InputError("ends_at: must be after starts_at")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise InputError("reason: expected text")
    for where, text in (("name", name), ("reason", reason), *(("objects", ref) for ref in objects)):
        if "\x00" in text:  # PostgreSQL text cannot hold NUL: refuse it here as bad input, not as a 503
            raise InputError(f"{where}: NUL characters are not allowed")
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
