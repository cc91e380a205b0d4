"""Real web servers on loopback for the service-check tests: aiohttp over HTTP and HTTPS, generated certificate."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["BODY_LIMIT", "PORTAL_TEXT", "Servers", "make_cert", "serving"]

PORTAL_TEXT = "Cổng thông tin điện tử tỉnh Lâm Giang"
BODY_LIMIT = 4096


def make_cert(folder: Path, days_left: float) -> tuple[Path, Path, datetime]:
    """Write a self-signed certificate for 127.0.0.1 that expires in *days_left* days; return paths and notAfter."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC).replace(microsecond=0)
    not_after = now + timedelta(days=days_left)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"cert-{days_left}.pem", folder / f"key-{days_left}.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path, not_after


@dataclass
class Servers:
    """Base URLs of the test servers and what the TLS one's certificate says."""

    plain: str
    tls: str
    tls_not_after: datetime
    release: asyncio.Event


def _app(release: asyncio.Event) -> web.Application:
    async def portal(_request: web.Request) -> web.Response:
        return web.Response(text=f"<html><title>{PORTAL_TEXT}</title></html>", content_type="text/html")

    async def down(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="bảo trì")

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/")

    async def hang(_request: web.Request) -> web.Response:
        await release.wait()  # until the test ends: the check must give up at its own timeout
        return web.Response(text="late")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"x" * (4 * BODY_LIMIT))
        await response.write(PORTAL_TEXT.encode())  # beyond what a check reads
        await response.write_eof()
        return response

    app = web.Application()
    app.add_routes(
        [
            web.get("/", portal),
            web.get("/down", down),
            web.get("/moved", moved),
            web.get("/hang", hang),
            web.get("/big", big),
        ]
    )
    return app


def _fresh_cert(folder: Path) -> tuple[Path, Path, datetime]:
    folder.mkdir(parents=True, exist_ok=True)
    return make_cert(folder, 5)


@asynccontextmanager
async def serving(tmp_path: Path) -> AsyncIterator[Servers]:
    """Serve the test app on 127.0.0.1 over HTTP and HTTPS (a certificate that expires in 5 days)."""
    release = asyncio.Event()
    cert, key, not_after = await asyncio.to_thread(_fresh_cert, tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runners: list[web.AppRunner] = []
    urls: list[str] = []
    for scheme, tls in (("http", None), ("https", context)):
        runner = web.AppRunner(_app(release), handle_signals=False)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        port = runner.addresses[0][1]
        urls.append(f"{scheme}://127.0.0.1:{port}")
    try:
        yield Servers(plain=urls[0], tls=urls[1], tls_not_after=not_after, release=release)
    finally:
        release.set()
        for runner in runners:
            await runner.cleanup()
