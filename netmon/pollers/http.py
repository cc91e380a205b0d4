"""The `http` poll class: one HTTP(S) GET of a service's URL, as blackbox_exporter's http prober does.

For the province's web services: the portal, the one-stop-shop, the public-service systems
(issue 11, item 5). Each check opens a fresh connection (no pooling, so `duration` includes
connect and TLS handshake as a citizen's browser sees it), follows up to 5 redirects, reads at
most `CheckSettings.max_body_bytes` of the body, and never uses proxy settings from the
environment. Outcomes, never exceptions:

- ok: the status is one of `expect_status` (RFC 9110 section 15) and `body_match`, if set, is
  found in the bytes read;
- bad_reply: another status, a body that does not match, a broken response or redirect loop;
- refused / unreachable / timeout: as the tcp check (`netmon.pollers.tcp.connect_status`);
- error: TLS verification failed (with `tls_verify: true`), the name did not resolve, ...

The TLS peer certificate's notAfter is read from the connection even when `tls_verify` is
false (self-signed certificates of internal systems): `getpeercert(binary_form=True)` returns
the DER certificate whatever the verification mode, and `cryptography` parses it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from datetime import datetime
from typing import Any, ClassVar

import aiohttp
from cryptography import x509

from netmon.config import Config
from netmon.config import PollClass as PollSettings
from netmon.inventory.models import ServiceCheck
from netmon.kernel import Status, utcnow
from netmon.pollers.service import ServiceCheckClass, ServiceSample, ServiceTarget
from netmon.pollers.tcp import connect_status

__all__ = ["HttpCheck"]

_MAX_REDIRECTS = 5
_USER_AGENT = "netmon-http-check/1"


class HttpCheck(ServiceCheckClass):
    """Poll class `http` (registered in `netmon.pollers.registry.BUILTIN`; settings `polling.http`)."""

    name: ClassVar[str] = "http"
    service_check: ClassVar[ServiceCheck] = ServiceCheck.HTTP

    def __init__(self, config: Config | None = None, settings: PollSettings | None = None) -> None:
        super().__init__(config, settings)
        # loads the system's CA certificates: file I/O, done once here rather than in a check
        self._verifying = ssl.create_default_context()

    def _ssl(self, target: ServiceTarget) -> ssl.SSLContext | bool:
        if not target.tls_verify:
            return False  # aiohttp: TLS without verification
        return self._verifying

    async def check_service(self, target: ServiceTarget) -> ServiceSample:
        """GET the target's URL once; return one ServiceSample whatever happens."""
        ts, started = utcnow(), time.monotonic()
        if target.url is None:
            return _sample(target, ts, Status.ERROR, 0.0, "no URL", None, None)
        limit = self.timeout(target)
        connector = _CertRecorder(ssl=self._ssl(target), force_close=True, limit=1)
        status_code: int | None = None
        body = b""
        try:
            async with (
                asyncio.timeout(limit),
                aiohttp.ClientSession(
                    connector=connector,
                    timeout=aiohttp.ClientTimeout(total=limit),
                    trust_env=False,
                    headers={"User-Agent": _USER_AGENT},
                ) as session,
                session.get(target.url, max_redirects=_MAX_REDIRECTS) as response,
            ):
                status_code = response.status
                body = await _read_bounded(response, self.check_settings.max_body_bytes)
                charset = response.charset or "utf-8"
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            status, message = _failure(exc)
            not_after = connector.not_after
            return _sample(target, ts, status, time.monotonic() - started, message, status_code, not_after)
        duration = time.monotonic() - started
        not_after = connector.not_after
        matched = _matches(target.body_match, body, charset)
        if not target.expect.accepts(status_code):
            status, error = Status.BAD_REPLY, f"status {status_code}, expected {target.expect.text}"
        elif matched is False:
            status, error = Status.BAD_REPLY, f"body does not match {target.body_match!r}"
        else:
            status, error = Status.OK, None
        return _sample(target, ts, status, duration, error, status_code, not_after, matched)


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read at most *limit* bytes of the body (bounded in memory whatever the server sends)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _CertRecorder(aiohttp.TCPConnector):
    """A connector that keeps the notAfter of the last TLS peer certificate it connected to.

    The response may release (and, with force_close, close) its connection before the caller
    sees it, so the certificate is read where each connection is made. `_create_connection`
    is aiohttp's per-connection hook (3.x, pinned in constraints.txt).
    """

    not_after: datetime | None = None

    async def _create_connection(self, req: Any, traces: Any, client_timeout: Any) -> Any:
        protocol = await super()._create_connection(req, traces, client_timeout)
        transport = getattr(protocol, "transport", None)
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            self.not_after = _not_after(ssl_object.getpeercert(binary_form=True))
        return protocol


def _not_after(der: bytes | None) -> datetime | None:
    """Return a DER certificate's notAfter (UTC), or None."""
    if not der:
        return None
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


def _matches(pattern: str | None, body: bytes, charset: str) -> bool | None:
    if pattern is None:
        return None
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    return re.search(pattern, text) is not None


#: aiohttp's errors that mean the server answered, but not with a whole HTTP response.
_BROKEN = (aiohttp.ClientResponseError, aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)


def _failure(exc: BaseException) -> tuple[Status, str]:
    """Classify a failed request; the one place aiohttp's errors are translated."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        found = (Status.ERROR, f"TLS certificate not trusted: {exc.certificate_error}")
    elif isinstance(exc, aiohttp.ClientConnectorSSLError):
        found = (Status.ERROR, "TLS handshake failed")
    elif isinstance(exc, aiohttp.ClientConnectorError):
        found = connect_status(exc.os_error)
    elif isinstance(exc, aiohttp.TooManyRedirects):
        found = (Status.BAD_REPLY, f"more than {_MAX_REDIRECTS} redirects")
    elif isinstance(exc, _BROKEN) and not isinstance(exc, TimeoutError):
        found = (Status.BAD_REPLY, f"broken response: {type(exc).__name__}")
    elif isinstance(exc, aiohttp.InvalidURL):
        found = (Status.ERROR, "invalid URL")
    else:
        found = connect_status(exc)  # TimeoutError, OSError
    return found


def _sample(  # noqa: PLR0917 (a private constructor: the names are at every call)
    target: ServiceTarget,
    ts: datetime,
    status: Status,
    duration: float,
    error: str | None,
    http_status: int | None,
    not_after: datetime | None,
    matched: bool | None = None,
) -> ServiceSample:
    return ServiceSample(
        device=target.name,
        ts=ts,
        status=status,
        duration=duration,
        error=error,
        check=ServiceCheck.HTTP,
        http_status=http_status,
        cert_not_after=not_after,
        body_matched=matched,
    )
