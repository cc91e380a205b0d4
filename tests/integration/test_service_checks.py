"""The http and tcp poll classes against real servers on loopback: aiohttp with generated certificates.

Every outcome is a ServiceSample, never an exception: a wrong status, a body that does not
match, a self-signed certificate (verified or not), one about to expire, a server that does not
answer, a closed port.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from netmon.config import Config
from netmon.inventory.models import Level, Role, ServiceCheck
from netmon.inventory.spec import DeviceSpec, Inventory, ServiceSpec, UnitSpec
from netmon.inventory.targets import parse_expect_status
from netmon.monitor.rounds import Pollers, targets_of
from netmon.pollers import registry
from netmon.pollers.base import Status
from netmon.pollers.http import HttpCheck
from netmon.pollers.service import CheckSettings, ServiceSample, ServiceTarget
from netmon.pollers.tcp import TcpCheck
from tests.conftest import free_tcp_port
from tests.webservers import BODY_LIMIT, Servers, serving


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    async with serving(tmp_path) as running:
        yield running


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 with a socket listening (the kernel completes the handshake)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def http_target(url: str, **kwargs: object) -> ServiceTarget:
    options: dict[str, Any] = {"timeout": 3.0, **kwargs}
    return ServiceTarget(name="portal", unit="LG", check=ServiceCheck.HTTP, url=url, **options)


async def check_http(target: ServiceTarget) -> ServiceSample:
    samples = await HttpCheck(settings=CheckSettings(max_body_bytes=BODY_LIMIT)).poll(target)
    assert len(samples) == 1
    sample = samples[0]
    assert isinstance(sample, ServiceSample)
    return sample


# (id, base, path, target options, status, http status, error contains)
HTTP_CASES = [
    ("plain-ok", "plain", "/", {}, Status.OK, 200, None),
    ("wrong-status", "plain", "/down", {}, Status.BAD_REPLY, 503, "status 503, expected 200"),
    ("status-in-list", "plain", "/down", {"expect": parse_expect_status([200, "500-503"])}, Status.OK, 503, None),
    ("redirect-followed", "plain", "/moved", {}, Status.OK, 200, None),
    ("body-match", "plain", "/", {"body_match": r"tỉnh\s+Lâm"}, Status.OK, 200, None),
    ("body-mismatch", "plain", "/", {"body_match": "Bộ Công an"}, Status.BAD_REPLY, 200, "body does not match"),
    ("body-beyond-bound", "plain", "/big", {"body_match": "Lâm Giang"}, Status.BAD_REPLY, 200, "body does not match"),
    ("self-signed-unverified", "tls", "/", {"tls_verify": False}, Status.OK, 200, None),
    ("self-signed-verified", "tls", "/", {"tls_verify": True}, Status.ERROR, None, "TLS certificate not trusted"),
    ("tls-wrong-status", "tls", "/down", {"tls_verify": False}, Status.BAD_REPLY, 503, "status 503"),
]


@pytest.mark.parametrize(
    ("base", "path", "options", "status", "code", "error"),
    [pytest.param(*case[1:], id=case[0]) for case in HTTP_CASES],
)
async def test_http_outcomes(  # noqa: PLR0917 (pytest passes parameters by name)
    servers: Servers,
    base: str,
    path: str,
    options: dict[str, object],
    status: Status,
    code: int | None,
    error: str | None,
) -> None:
    url = (servers.plain if base == "plain" else servers.tls) + path
    sample = await check_http(http_target(url, **options))
    assert (sample.status, sample.http_status) == (status, code), sample.error
    assert sample.device == sample.service == "portal"
    assert sample.check is ServiceCheck.HTTP
    if error is None:
        assert sample.error is None
    else:
        assert sample.error is not None
        assert error in sample.error
    if sample.ok:
        assert sample.duration > 0


async def test_certificate_expiring_in_five_days_is_read_without_verification(servers: Servers) -> None:
    sample = await check_http(http_target(servers.tls + "/", tls_verify=False))
    assert sample.cert_not_after == servers.tls_not_after
    days = sample.cert_days_left()
    assert days is not None
    assert 4.99 < days <= 5.0


async def test_plain_http_has_no_certificate(servers: Servers) -> None:
    sample = await check_http(http_target(servers.plain + "/"))
    assert (sample.cert_not_after, sample.cert_days_left()) == (None, None)


async def test_http_gives_up_at_its_timeout(servers: Servers) -> None:
    target = http_target(servers.plain + "/hang", timeout=0.3)
    sample = await check_http(target)
    assert sample.status is Status.TIMEOUT
    assert HttpCheck().deadline(target) > 0.3


async def test_http_to_a_closed_port_is_refused() -> None:
    sample = await check_http(http_target(f"http://127.0.0.1:{free_tcp_port()}/"))
    assert (sample.status, sample.error) == (Status.REFUSED, "connection refused")


async def test_tcp_to_a_listening_port(listener: int) -> None:
    target = ServiceTarget(name="vc-mcu", unit="LG", check=ServiceCheck.TCP, host="127.0.0.1", port=listener)
    [sample] = await TcpCheck().poll(target)
    assert isinstance(sample, ServiceSample)
    assert (sample.status, sample.error, sample.check) == (Status.OK, None, ServiceCheck.TCP)
    assert sample.duration > 0


async def test_tcp_to_a_closed_port_is_refused() -> None:
    target = ServiceTarget(name="mail", unit="LG", check=ServiceCheck.TCP, host="127.0.0.1", port=free_tcp_port())
    [sample] = await TcpCheck().poll(target)
    assert (sample.status, sample.error) == (Status.REFUSED, "connection refused")


def test_poll_classes_choose_their_own_targets() -> None:
    http = ServiceTarget(name="a", unit="LG", check=ServiceCheck.HTTP, url="http://127.0.0.1/")
    tcp = ServiceTarget(name="b", unit="LG", check=ServiceCheck.TCP, host="127.0.0.1", port=1)
    assert (HttpCheck().applies(http), HttpCheck().applies(tcp)) == (True, False)
    assert (TcpCheck().applies(http), TcpCheck().applies(tcp)) == (False, True)
    assert (HttpCheck.name, TcpCheck.name) == ("http", "tcp")


def test_failed_gives_a_service_sample() -> None:
    target = ServiceTarget(name="a", unit="LG", check=ServiceCheck.HTTP, url="http://127.0.0.1/")
    [sample] = HttpCheck().failed(target, Status.TIMEOUT, "no answer within 11 s")
    assert isinstance(sample, ServiceSample)
    assert (sample.device, sample.status, sample.error) == ("a", Status.TIMEOUT, "no answer within 11 s")
    assert ServiceSample.from_dict(sample.to_dict()) == sample


def test_http_and_tcp_are_registered_with_polling_settings() -> None:
    assert [registry.class_of("http"), registry.class_of("tcp")] == [HttpCheck, TcpCheck]
    config = Config.model_validate({"polling": {"http": {"interval": 30, "max_body_bytes": 1024}}})
    http, tcp = config.polling.of("http"), config.polling.of("tcp")
    assert isinstance(http, CheckSettings)
    assert (http.interval, http.timeout, http.max_body_bytes) == (30, 10, 1024)
    assert (tcp.interval, tcp.timeout) == (60, 10)
    built = registry.build(config)
    assert built["http"].settings == http
    with pytest.raises(ValidationError, match=r"tcp\.colour"):
        Config.model_validate({"polling": {"tcp": {"colour": "blue"}}})


def test_one_target_list_carries_devices_and_services_and_each_class_takes_its_own() -> None:
    inventory = Inventory(
        units={"P": UnitSpec(code="P", name="Tỉnh", level=Level.PROVINCE)},
        devices={"srv": DeviceSpec(name="srv", unit="P", role=Role.SERVER, address="127.0.0.9", snmp="lab")},
        links={},
        services={
            "portal": ServiceSpec.model_validate(
                {"name": "portal", "unit": "P", "check": "http", "url": "http://127.0.0.9/", "device": "srv"}
            ),
            "mail": ServiceSpec.model_validate(
                {"name": "mail", "unit": "P", "check": "tcp", "address": "127.0.0.9:25"}
            ),
            "off": ServiceSpec.model_validate(
                {"name": "off", "unit": "P", "check": "tcp", "address": "127.0.0.9:26", "enabled": False}
            ),
        },
    )
    targets = targets_of(inventory)
    assert [t.device for t in targets] == ["srv", "portal", "mail"]
    chosen = {
        name: [t.device for t in targets if poll_class.applies(t)]
        for name, poll_class in Pollers(Config()).classes.items()
    }
    assert chosen == {"snmp": ["srv"], "ping": ["srv"], "host_resources": ["srv"], "http": ["portal"], "tcp": ["mail"]}
    assert targets[1].address == "http://127.0.0.9/"
    assert targets[2].address == "127.0.0.9:25"


def test_the_shared_service_kind_is_fresh_for_the_longer_of_the_two_classes() -> None:
    config = Config.model_validate({"polling": {"http": {"interval": 300}, "tcp": {"interval": 30}}})
    name, window, first = registry.windows(config)[ServiceSample.kind]
    assert (name, window.total_seconds(), first) == ("http", 2 * 300 + 60, True)
