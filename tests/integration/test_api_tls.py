"""TLS and basic auth on /metrics and the API (the exporter-toolkit web config), with a real TLS client and a
real Prometheus scraping through basic_auth + tls_config. Certificates are made in the test."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest

from netmon.api.webconfig import hash_password, load_web_config
from netmon.config import Config
from netmon.errors import ConfigError
from tests.monitoring import import_inventory, make_token, monitor_config, running
from tests.pki import Pki, make_pki
from tests.prom import running_prometheus

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.77.5.1}
  - {name: p-r2, unit: P, role: switch, address: 127.77.5.2, parent: p-r1}
"""
USER, PASSWORD = "prometheus", "mật-khẩu đúng 1"


def _web_file(folder: Path, pki: Pki, *, mutual: bool = False) -> Path:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()  # cost 4: fast tests
    lines = [
        "tls_server_config:",
        f"  cert_file: {pki.folder / 'server.crt'}",
        f"  key_file: {pki.folder / 'server.key'}",
        "  min_version: TLS12",
    ]
    if mutual:
        lines += ["  client_auth_type: RequireAndVerifyClientCert", f"  client_ca_file: {pki.ca}"]
    lines += ["basic_auth_users:", f"  {USER}: '{hashed}'"]
    path = folder / "web.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    db_url = f"sqlite:///{tmp_path}/netmon.db"
    import_inventory(db_url, INVENTORY, tmp_path, {})
    return lambda **sections: monitor_config(db_url, {}, **sections)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _get(url: str, context: ssl.SSLContext, **kwargs: Any) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(url, ssl=context, **kwargs) as reply,
    ):
        return reply.status, dict(reply.headers), await reply.text()


async def test_tls_and_basic_auth_guard_metrics_and_the_api(
    make_config: Callable[..., Config], pki: Pki, tmp_path: Path
) -> None:
    config = make_config(web={"config_file": str(_web_file(tmp_path, pki))})
    async with running(config) as daemon:
        assert daemon.http is not None
        url = daemon.http.url
        assert url.startswith("https://127.0.0.1:")
        context = pki.client_context()
        status, headers, body = await _get(f"{url}/metrics", context)
        assert status == 401
        assert "Basic" in headers["WWW-Authenticate"]
        assert body.startswith('{"error"')
        wrong = _basic(USER, "not the password")
        assert (await _get(f"{url}/metrics", context, headers=wrong))[0] == 401
        assert (await _get(f"{url}/metrics", context, headers=_basic("nobody", PASSWORD)))[0] == 401
        right = _basic(USER, PASSWORD)
        for _ in range(2):  # the second answer comes from the checked-credential cache
            status, headers, body = await _get(f"{url}/metrics", context, headers=right)
            assert status == 200
            assert "netmon_" in body
            assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert (await _get(f"{url}/api/v1/devices", context, headers=right))[0] == 200
        assert (await _get(f"{url}/healthz", context))[0] == 200  # liveness stays open
        # basic auth reads; only a write token writes
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/api/v1/reload", ssl=context, headers=right) as reply,
        ):
            assert reply.status == 403
        token = await _thread(make_token, daemon, "read")
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await _get(f"{url}/api/v1/devices", context, headers=bearer))[0] == 200
        # a client that does not trust the CA, and plain HTTP, get nowhere
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await _get(f"{url}/metrics", ssl.create_default_context(), headers=right)
        with pytest.raises(aiohttp.ClientError):
            await _get(url.replace("https://", "http://") + "/metrics", context, headers=right)


async def test_mutual_tls_needs_a_client_certificate(
    make_config: Callable[..., Config], pki: Pki, tmp_path: Path
) -> None:
    config = make_config(web={"config_file": str(_web_file(tmp_path, pki, mutual=True))})
    async with running(config) as daemon:
        assert daemon.http is not None
        url, auth = f"{daemon.http.url}/metrics", _basic(USER, PASSWORD)
        with pytest.raises(aiohttp.ClientError):
            await _get(url, pki.client_context(), headers=auth)
        assert (await _get(url, pki.client_context(client_cert=True), headers=auth))[0] == 200


async def test_a_real_prometheus_scrapes_through_basic_auth_and_tls(
    make_config: Callable[..., Config], pki: Pki, tmp_path: Path
) -> None:
    config = make_config(web={"config_file": str(_web_file(tmp_path, pki))})
    async with running(config) as daemon:
        assert daemon.http is not None
        target = daemon.http.url.removeprefix("https://")
        scrape = {
            "scheme": "https",
            "basic_auth": {"username": USER, "password": PASSWORD},
            "tls_config": {"ca_file": str(pki.ca), "min_version": "TLS12"},
        }
        with running_prometheus(tmp_path / "prom", targets=[target], scrape=scrape) as prom:
            up = await _thread(prom.wait_for, 'up{job="netmon"} == 1', timeout=30)
            assert up[0]["metric"]["instance"] == target
            devices = await _thread(prom.wait_for, 'count(netmon_device_up{job="netmon"})', timeout=30)
            assert devices[0]["value"][1] == "2"
        wrong = {**scrape, "basic_auth": {"username": USER, "password": "wrong"}}
        with running_prometheus(tmp_path / "prom-wrong", targets=[target], scrape=wrong) as prom:
            await _thread(prom.wait_for, 'up{job="netmon"} == 0', timeout=30)


async def _thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(function, *args, **kwargs)


def test_hash_password_makes_a_bcrypt_hash_the_web_config_accepts(tmp_path: Path) -> None:
    hashed = hash_password("s3cret", cost=4)
    assert hashed.startswith("$2b$04$")
    assert bcrypt.checkpw(b"s3cret", hashed.encode())
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users:\n  alice: '{hashed}'\n", encoding="utf-8")
    loaded = load_web_config(path)
    assert loaded.basic_auth is not None
    assert loaded.tls is None


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param("basic_auth_users:\n  alice: plain-text\n", "web.yml:2: basic_auth_users.alice", id="not-bcrypt"),
        pytest.param("tls_server_config:\n  cert_file: a.crt\n", "web.yml:1: tls_server_config.key_file: required",
                     id="no-key"),
        pytest.param("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "tls_server_config.cert_file",
                     id="missing-cert"),
        pytest.param("basic_auth_user:\n  alice: x\n", "web.yml:1: basic_auth_user: unknown key", id="typo"),
        pytest.param("tls_server_config: {cert_file: a, key_file: b, min_version: SSL3}\n",
                     "tls_server_config.min_version", id="bad-version"),
        pytest.param("- a\n", "must be a mapping", id="not-a-mapping"),
        pytest.param("a: [\n", "web.yml", id="bad-yaml"),
    ],
)  # fmt: skip
def test_a_bad_web_config_names_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert where in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_the_example_web_config_is_valid_apart_from_its_certificates(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "web.example.yml"
    text = example.read_text(encoding="utf-8")
    pki = make_pki(tmp_path)
    (tmp_path / "netmon.crt").write_bytes((pki.folder / "server.crt").read_bytes())
    (tmp_path / "netmon.key").write_bytes((pki.folder / "server.key").read_bytes())
    (tmp_path / "web.yml").write_text(text, encoding="utf-8")
    loaded = load_web_config(tmp_path / "web.yml")
    assert loaded.tls is not None
    assert loaded.basic_auth is not None
    assert loaded.basic_auth.check("Basic cHJvbWV0aGV1czpjaGFuZ2UtbWU=") == "prometheus"  # prometheus:change-me
