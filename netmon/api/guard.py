"""The HTTP surface's defences: aiohttp middlewares and a connection guard (issue 14).

- Errors: every error is `{"error": TEXT, "status": CODE}` JSON, unknown paths and methods
  included; InputError is 400, a NetmonError 503, anything unexpected 500 (logged, never echoed).
- Security headers on every answer (nosniff, no framing, CSP `default-src 'none'`, no referrer,
  no-store; HSTS under TLS). No CORS: no Access-Control-* header is ever sent.
- Auth: `Authorization: Bearer nmt_...` (a token, see tokens.py) or `Basic` (a web-config user,
  read only). GETs need read, POST/DELETE need a write token; /healthz is open. Anonymous reads
  are allowed only when `Policy.anonymous_reads` (loopback or allow_insecure). 401 carries
  `WWW-Authenticate`; a valid credential without the scope gets 403.
- Limits: a request body over `body_limit` is 413 (checked on Content-Length and while reading);
  JSON nested deeper than `json_depth` is 400; a client (by IP) may have `per_client` requests in
  flight (429 beyond) and `per_client_connections` open connections (closed beyond); a handler
  gets `handler_timeout` seconds (503 after); a connection that has not sent a whole request
  head within `header_timeout` seconds (slow loris) is closed.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from netmon.errors import ConfigError, InputError, NetmonError

__all__ = ["PRINCIPAL", "Guard", "Policy", "error", "read_json"]

#: Who made the request: "token:NAME", "user:NAME" (basic auth) or "anonymous".
PRINCIPAL = web.RequestKey("principal", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Authenticate = Callable[[str], Awaitable[tuple[str, str] | None]]  # header -> (principal, scope) or None

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_OPEN = frozenset({"/healthz"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, kw_only=True)
class Policy:
    """The limits and who may read; the defaults are the ones `netmon run` uses (sizes in bytes, seconds)."""

    anonymous_reads: bool = True
    body_limit: int = 64 * 1024
    json_depth: int = 32
    per_client: int = 8
    per_client_connections: int = 32
    handler_timeout: float = 30.0
    header_timeout: float = 10.0
    tls: bool = False
    headers: tuple[tuple[str, str], ...] = ()


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """Return the one error shape: `{"error": message, "status": status}`."""
    return web.json_response({"error": message, "status": status}, status=status, headers=headers)


async def read_json(request: web.Request, depth: int) -> Any:
    """Read the body as JSON (InputError when not JSON or nested deeper than *depth*; 413 via aiohttp)."""
    raw = await request.read()
    _check_depth(raw, depth)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise InputError("body: expected JSON") from None


def _check_depth(raw: bytes, limit: int) -> None:
    """Refuse JSON nested deeper than *limit*, in one linear pass (json.loads recurses)."""
    level, quoted, escaped = 0, False, False
    for byte in raw:
        if quoted:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                quoted = False
        elif byte == 0x22:
            quoted = True
        elif byte in (0x5B, 0x7B):  # [ {
            level += 1
            if level > limit:
                raise InputError(f"body: JSON nested deeper than {limit} levels")
        elif byte in (0x5D, 0x7D):
            level -= 1


class Guard:
    """Middlewares and the connection wrapper of one HTTP server; counters are for tests and metrics."""

    def __init__(self, policy: Policy, authenticate: Authenticate, log: Any) -> None:
        self.policy = policy
        self._authenticate = authenticate
        self._log = log
        self._in_flight: Counter[str] = Counter()
        self._connections: Counter[str] = Counter()
        self._guarded: dict[object, _GuardedProtocol] = {}
        self.refused = Counter[str]()  # reason -> count

    @property
    def middlewares(self) -> list[Any]:
        """Return the middlewares, outermost first."""
        return [self._errors, self._limits, self._auth]

    def factory(self, inner: Callable[[], asyncio.BaseProtocol]) -> Callable[[], asyncio.Protocol]:
        """Wrap aiohttp's protocol factory with the per-client connection cap and the header deadline."""
        return lambda: _GuardedProtocol(inner(), self)  # type: ignore[arg-type]

    # ---- middlewares ---------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = error(exc.status, exc.reason, _kept(exc.headers))
        except ConfigError as exc:
            response = error(400, "; ".join(f"{i.where}: {i.message}" if i.where else i.message for i in exc.issues))
        except InputError as exc:
            response = error(400, str(exc))
        except NetmonError as exc:
            response = error(503, str(exc))
        except Exception as exc:  # noqa: BLE001 (the edge: an unexpected error is a JSON 500, logged)
            self._log.error("http handler failed", path=request.path, error=type(exc).__name__)
            response = error(500, "internal error")
        response.headers.update(SECURITY_HEADERS)
        response.headers.update(dict(self.policy.headers))
        if self.policy.tls:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @web.middleware
    async def _limits(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        guarded = self._guarded.get(request.transport) if request.transport is not None else None
        if guarded is not None:
            guarded.busy()
        client = request.remote or "?"
        try:
            if self._in_flight[client] >= self.policy.per_client:
                self.refused["busy"] += 1
                return error(429, "too many requests in flight from this client", {"Retry-After": "1"})
            length = request.content_length
            if length is not None and length > self.policy.body_limit:
                self.refused["body"] += 1
                raise web.HTTPRequestEntityTooLarge(max_size=self.policy.body_limit, actual_size=length)
            self._in_flight[client] += 1
            try:
                async with asyncio.timeout(self.policy.handler_timeout):
                    return await handler(request)
            except TimeoutError:
                self.refused["timeout"] += 1
                return error(503, f"the request took longer than {self.policy.handler_timeout:g} s")
            finally:
                self._in_flight[client] -= 1
                if not self._in_flight[client]:
                    del self._in_flight[client]
        finally:
            if guarded is not None:
                guarded.idle()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        unmatched = request.match_info.http_exception
        if unmatched is not None:  # 404/405 before auth: the paths are public in the OpenAPI spec anyway
            raise unmatched
        if request.path in _OPEN:
            request[PRINCIPAL] = "anonymous"
            return await handler(request)
        need = "write" if request.method in _WRITES else "read"
        header = request.headers.get("Authorization")
        if header is None:
            if need == "read" and self.policy.anonymous_reads:
                request[PRINCIPAL] = "anonymous"
                return await handler(request)
            return self._challenge("authentication required")
        found = await self._authenticate(header)
        if found is None:
            self.refused["auth"] += 1
            return self._challenge("invalid credentials")
        principal, scope = found
        if need == "write" and scope != "write":
            self.refused["scope"] += 1
            return error(403, "this credential may read, not write (a write token is needed)")
        request[PRINCIPAL] = principal
        return await handler(request)

    @staticmethod
    def _challenge(message: str) -> web.Response:
        return error(401, message, {"WWW-Authenticate": 'Bearer realm="netmon", Basic realm="netmon"'})


def _kept(headers: Any) -> dict[str, str]:
    """Keep the headers of an aiohttp HTTP error that still mean something on a JSON answer."""
    return {k: v for k, v in headers.items() if k in ("Allow", "Retry-After", "WWW-Authenticate")}


class _GuardedProtocol(asyncio.Protocol):
    """Delegates to aiohttp's RequestHandler; caps connections per client and closes slow request heads."""

    def __init__(self, inner: asyncio.Protocol, guard: Guard) -> None:
        self._inner, self._guard = inner, guard
        self._transport: asyncio.Transport | None = None
        self._client = "?"
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else "?"
        guard = self._guard
        if guard._connections[self._client] >= guard.policy.per_client_connections:
            guard.refused["connections"] += 1
            transport.close()
            return
        guard._connections[self._client] += 1
        self._transport = transport  # type: ignore[assignment]
        guard._guarded[transport] = self
        self._inner.connection_made(transport)
        self.idle()

    def busy(self) -> None:
        """Drop the deadline: a whole request head arrived and is being handled."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def idle(self) -> None:
        """Start the deadline: close the connection unless a whole request head arrives in time."""
        self.busy()
        if self._transport is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._guard.policy.header_timeout, self._expire)

    def _expire(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._guard.refused["slow"] += 1
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:
            return
        self.busy()
        guard = self._guard
        guard._guarded.pop(self._transport, None)
        guard._connections[self._client] -= 1
        if not guard._connections[self._client]:
            del guard._connections[self._client]
        self._transport = None
        self._inner.connection_lost(exc)
