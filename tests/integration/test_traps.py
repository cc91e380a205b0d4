"""The trap receiver against real traps from net-snmp's snmptrap/snmpinform on loopback.

Drops are observed without sleeping: a good trap sent after a bad one from the same host
reaches the one socket after it, so when the good one is delivered the bad one is counted.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from pyasn1.codec.ber import encoder
from pysnmp.proto import api

from netmon.config import Config, SnmpProfile, TrapConfig
from netmon.errors import PollError
from netmon.monitor.trappolls import TrapPolls
from netmon.pollers import traps, trapwire
from netmon.pollers.ratelimit import TokenBuckets
from netmon.pollers.traps import TrapEvent, TrapReceiver
from netmon.runtime import Runtime

HOST = "127.0.0.1"
#: A v1 agent-addr naming another of the sender's interfaces: written into PDUs, never sent to (loopback).
OTHER_INTERFACE = "127.77.9.9"
OTHER_HOST = "127.0.0.5"  # not in the inventory; snmptrap sends from it via clientaddr
SECRETS = ("t-trap-community", "t-trap-v1comm", "t-trap-auth-1", "t-trap-auth-2", "t-trap-priv-2", "t-trap-auth-3")
WRONG = ("wrong-community", "wrong-auth-key", "wrong-priv-key")
LINK_DOWN = ["1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.7.2", "i", "1"]
LINK_DOWN += ["1.3.6.1.2.1.2.2.1.8.2", "i", "2", "1.3.6.1.2.1.31.1.1.1.1.2", "s", "Gi0/2"]
LINK_UP = ["1.3.6.1.6.3.1.1.5.4", "1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.8.3", "i", "1"]
COLD_START = ["1.3.6.1.6.3.1.1.5.1"]
OTHER_TRAP = ["1.3.6.1.4.1.8072.2.3.0.1", "1.3.6.1.4.1.8072.2.3.2.1", "i", "7"]
TIMEOUT = 10.0

PROFILES: dict[str, SnmpProfile] = Config.model_validate(
    {
        "snmp_profiles": {
            "v1": {"version": 1, "community": "t-trap-v1comm"},
            "v2c": {"version": "2c", "community": "t-trap-community"},
            "v3-noauth": {"version": 3, "user": "netmon-plain"},
            "v3-authnopriv": {"version": 3, "user": "netmon-auth", "auth_protocol": "sha", "auth_key": "t-trap-auth-1"},
            "v3-authpriv": {
                "version": 3,
                "user": "netmon",
                "auth_protocol": "sha256",
                "auth_key": "t-trap-auth-2",
                "priv_protocol": "aes128",
                "priv_key": "t-trap-priv-2",
            },
            "v3-sha-aes256": {
                "version": 3,
                "user": "netmon-256",
                "auth_protocol": "sha",
                "auth_key": "t-trap-auth-3",
                "priv_protocol": "aes256",
                "priv_key": "t-trap-auth-3",
            },
        }
    }
).snmp_profiles
V3_ARGS = {
    "v3-noauth": ["-u", "netmon-plain", "-l", "noAuthNoPriv"],
    "v3-authnopriv": ["-u", "netmon-auth", "-l", "authNoPriv", "-a", "SHA", "-A", "t-trap-auth-1"],
    "v3-authpriv": [
        *("-u", "netmon", "-l", "authPriv"),
        *("-a", "SHA-256", "-A", "t-trap-auth-2", "-x", "AES", "-X", "t-trap-priv-2"),
    ],
    "v3-sha-aes256": [
        *("-u", "netmon-256", "-l", "authPriv"),
        *("-a", "SHA", "-A", "t-trap-auth-3", "-x", "AES256", "-X", "t-trap-auth-3"),
    ],
}
needs_crypto = pytest.mark.skipif(not traps._CAN_DECRYPT, reason="pysnmp decrypts only with 'cryptography'")


@dataclass
class Harness:
    receiver: TrapReceiver
    conf: Path  # SNMPCONFPATH for snmptrap: sends from HOST
    other_conf: Path  # sends from OTHER_HOST
    devices: dict[str, tuple[str, str | None]]
    events: list[TrapEvent] = field(default_factory=list)
    logs: io.StringIO = field(default_factory=io.StringIO)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def target(self) -> str:
        host, port = self.receiver.address
        return f"{host}:{port}"

    async def send(
        self,
        version_args: list[str],
        trap: list[str],
        *,
        tool: str = "snmptrap",
        other: bool = False,
        first: str = "",
    ) -> int:
        """Send one trap with net-snmp and return its exit code.

        *first* is snmptrap's first argument after the address: v2c/v3's uptime, v1's enterprise.
        """
        env = {
            "PATH": os.environ["PATH"],
            "SNMPCONFPATH": str(self.other_conf if other else self.conf),
            "SNMP_PERSISTENT_DIR": str(self.conf / "persist"),
            "MIBS": "",
        }
        head = [tool, *version_args, "-r", "0", "-t", "3"] if tool == "snmpinform" else [tool, *version_args]
        process = await asyncio.create_subprocess_exec(
            *head, self.target, first, *trap, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        async with asyncio.timeout(TIMEOUT):
            _, err = await process.communicate()
        assert process.returncode == 0 or tool == "snmpinform", err.decode()
        return process.returncode or 0

    async def next_event(self) -> TrapEvent:
        async with asyncio.timeout(TIMEOUT):
            await self.arrived.wait()
        self.arrived.clear()
        return self.events.pop(0)

    async def barrier(self, *, skip: bool = False) -> None:
        """Send a good v2c trap from HOST and wait for it: everything sent before is counted.

        With *skip*, events delivered before it are dropped; else there must be none.
        """
        saved = self.devices.get(HOST)
        self.devices[HOST] = ("barrier", "v2c")
        await self.send(["-v", "2c", "-c", "t-trap-community"], COLD_START)
        event = await self.next_event()
        while skip and event.device != "barrier":
            event = self.events.pop(0) if self.events else await self.next_event()
        assert event.device == "barrier"
        if saved is None:
            del self.devices[HOST]
        else:
            self.devices[HOST] = saved


@pytest.fixture
async def harness(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    caplog.set_level(logging.DEBUG)
    conf, other = tmp_path / "snmp", tmp_path / "snmp-other"
    conf.mkdir()
    other.mkdir()
    (other / "snmp.conf").write_text(f"clientaddr {OTHER_HOST}\n", encoding="utf-8")
    devices: dict[str, tuple[str, str | None]] = {HOST: ("sw-core", "v2c")}
    logs = io.StringIO()
    log = structlog.wrap_logger(
        structlog.PrintLogger(logs),
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    events: list[TrapEvent] = []
    arrived = asyncio.Event()

    def on_trap(event: TrapEvent) -> None:
        events.append(event)
        arrived.set()

    receiver = TrapReceiver(TrapConfig(enabled=True, listen=f"{HOST}:0"), PROFILES, lambda: devices, on_trap, log=log)
    async with receiver:
        yield Harness(receiver, conf, other, devices, events=events, logs=logs, arrived=arrived)
    logged = logs.getvalue() + caplog.text
    for secret in SECRETS + WRONG:
        assert secret not in logged
    assert receiver.counts.keys() <= set(traps.COUNTS)


async def test_v2c_link_down_is_delivered(harness: Harness) -> None:
    await harness.send(["-v", "2c", "-c", "t-trap-community"], LINK_DOWN)
    event = await harness.next_event()
    assert (event.device, event.source, event.trap, event.version) == ("sw-core", HOST, "linkDown", "2c")
    assert (event.if_index, event.if_name) == (2, "Gi0/2")
    assert event.ts.utcoffset() is not None
    assert TrapEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert harness.receiver.counts == {"accepted": 1}


async def test_v1_cold_start_is_delivered(harness: Harness) -> None:
    harness.devices[HOST] = ("ups-1", "v1")
    await harness.send(["-v", "1", "-c", "t-trap-v1comm"], ["", "0", "0", ""])  # agent, generic 0, specific, uptime
    event = await harness.next_event()
    assert (event.device, event.trap, event.version, event.if_index) == ("ups-1", "coldStart", "1", None)


V3_CASES = [
    pytest.param("v3-authpriv", id="authPriv-sha256-aes128", marks=needs_crypto),
    pytest.param("v3-sha-aes256", id="authPriv-sha-aes256", marks=needs_crypto),
    pytest.param("v3-authnopriv", id="authNoPriv-sha"),
    pytest.param("v3-noauth", id="noAuthNoPriv"),
]


@pytest.mark.parametrize("profile", V3_CASES)
async def test_v3_link_up_is_delivered_from_any_engine_id(harness: Harness, profile: str) -> None:
    harness.devices[HOST] = ("rt-1", profile)
    for engine_id in ([], ["-e", "0x8000000001020304"], ["-e", "0x80001f8803aabbccddee"]):
        await harness.send(["-v", "3", *engine_id, *V3_ARGS[profile]], LINK_UP)
        event = await harness.next_event()
        assert (event.device, event.trap, event.version, event.if_index) == ("rt-1", "linkUp", "3", 3)
    assert harness.receiver.counts == {"accepted": 3}


async def test_engine_ids_past_the_bound_are_forgotten_and_learnt_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traps, "_MAX_ENGINES", 1)
    harness.devices[HOST] = ("rt-1", "v3-authnopriv")
    for engine_id in ("0x8000000001020304", "0x8000000001020305", "0x8000000001020304"):
        await harness.send(["-v", "3", "-e", engine_id, *V3_ARGS["v3-authnopriv"]], LINK_UP)
        assert (await harness.next_event()).trap == "linkUp"
    assert len(harness.receiver._engines) == 1


async def test_wrong_community_is_dropped_and_counted(harness: Harness) -> None:
    await harness.send(["-v", "2c", "-c", "wrong-community"], LINK_DOWN)
    harness.devices[HOST] = ("ups-1", "v1")
    await harness.barrier()  # the v2c community of another profile is wrong for a v1 device too
    await harness.send(["-v", "2c", "-c", "t-trap-community"], LINK_DOWN)
    await harness.barrier()
    assert harness.receiver.counts == {"bad_community": 2, "accepted": 2}
    assert not harness.events


DROPPED_V3 = [
    pytest.param("v3-authnopriv", ["-A", "wrong-auth-key"], id="wrong-auth-key"),
    pytest.param("v3-authnopriv", ["-u", "someone-else"], id="wrong-user"),
    pytest.param("v3-authpriv", ["-l", "authNoPriv"], id="lower-level-than-profile"),
    pytest.param("v3-authpriv", ["-X", "wrong-priv-key"], id="wrong-priv-key", marks=needs_crypto),
    pytest.param("v2c", [], id="v3-to-a-v2c-device"),
]


@pytest.mark.parametrize(("profile", "override"), DROPPED_V3)
async def test_v3_with_wrong_user_or_keys_is_dropped_and_counted(
    harness: Harness, profile: str, override: list[str]
) -> None:
    args = V3_ARGS.get(profile, V3_ARGS["v3-authnopriv"])
    harness.devices[HOST] = ("rt-1", profile)
    await harness.send(["-v", "3", *args, *override], LINK_UP)  # net-snmp takes the last of repeated options
    await harness.barrier()
    assert harness.receiver.counts == {"bad_auth": 1, "accepted": 1}


async def test_authpriv_without_cryptography_is_counted_unsupported(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traps, "_CAN_DECRYPT", False)
    harness.devices[HOST] = ("rt-1", "v3-authpriv")
    await harness.send(["-v", "3", *V3_ARGS["v3-authpriv"]], LINK_UP)
    await harness.barrier()
    assert harness.receiver.counts == {"unsupported": 1, "accepted": 1}


async def test_unknown_source_is_dropped_and_counted(harness: Harness) -> None:
    await harness.send(["-v", "2c", "-c", "t-trap-community"], LINK_DOWN, other=True)
    await harness.barrier()
    assert harness.receiver.counts == {"unknown_source": 1, "accepted": 1}
    assert '"source": "127.0.0.5"' in harness.logs.getvalue()


async def test_cold_start_is_delivered_and_other_traps_are_ignored(harness: Harness) -> None:
    await harness.send(["-v", "2c", "-c", "t-trap-community"], OTHER_TRAP)
    await harness.send(["-v", "2c", "-c", "t-trap-community"], COLD_START)
    event = await harness.next_event()
    assert (event.trap, event.if_index, event.if_name) == ("coldStart", None, None)
    assert harness.receiver.counts == {"ignored": 1, "accepted": 1}


async def test_malformed_datagrams_are_counted(harness: Harness) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for junk in (b"", b"\x30\x03\x02\x01", b"not snmp at all", b"\x30\x05\x02\x01\x07\x04\x00"):
            sock.sendto(junk, harness.receiver.address)
    await harness.barrier()
    assert harness.receiver.counts == {"malformed": 4, "accepted": 1}


async def test_a_flood_from_one_source_is_rate_limited_and_others_still_get_through(harness: Harness) -> None:
    harness.receiver.limiter = TokenBuckets(rate=0.001, burst=3)  # ~no refill within the test
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((OTHER_HOST, 0))
        for _ in range(50):
            sock.sendto(b"not snmp at all", harness.receiver.address)
    await harness.barrier()  # from HOST: its own bucket is full
    assert harness.receiver.counts == {"malformed": 3, "rate_limited": 47, "accepted": 1}
    assert harness.logs.getvalue().count('"rate_limited"') == 1  # warned once per source, not per datagram


async def test_v2c_inform_is_answered_and_delivered(harness: Harness) -> None:
    code = await harness.send(["-v", "2c", "-c", "t-trap-community"], LINK_DOWN, tool="snmpinform")
    event = await harness.next_event()
    assert (event.trap, event.if_index) == ("linkDown", 2)
    assert code == 0  # snmpinform got the receiver's response


async def test_the_socket_is_closed_on_exit_and_a_busy_port_is_a_poll_error() -> None:
    receiver = TrapReceiver(TrapConfig(listen=f"{HOST}:0"), PROFILES, dict, lambda _e: None, log=structlog.get_logger())
    async with receiver:
        address = receiver.address
        busy = TrapReceiver(
            TrapConfig(listen=f"{HOST}:{address[1]}"), PROFILES, dict, lambda _e: None, log=structlog.get_logger()
        )
        with pytest.raises(PollError, match=rf"cannot listen for traps on 127\.0\.0\.1:{address[1]}"):
            await busy.__aenter__()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(address)  # free again


# Real datagrams from snmptrap (v3 authNoPriv, v2c, v1): seeds for mutated datagrams.
_SEEDS = [
    bytes.fromhex(
        "3081ab020103301102047720ee67020300ffe30401010201030431302f040880000000010203040201010203044a48040b"
        "6e65746d6f6e2d61757468040c5739c9801400a4e2b4671fa604003060041180001f888049402f557388026b0000000004"
        "00a74902047cd1cd3b020100020100303b300f06082b060102010103004303044a483017060a2b06010603010104010006"
        "092b0601060301010504300f060a2b060102010202010103020103"
    ),
    bytes.fromhex(
        "305602010104067075626c6963a74902047db91660020100020100303b300f06082b060102010103004303044a4c301706"
        "0a2b06010603010104010006092b0601060301010503300f060a2b060102010202010102020102"
    ),
    bytes.fromhex("302a02010004067075626c6963a41d06082b060104010301014004c00002020201020201004303044a503000"),
]


@given(
    data=st.one_of(
        st.binary(max_size=120),
        st.tuples(st.sampled_from(_SEEDS), st.integers(0, 200), st.binary(min_size=1, max_size=3)).map(
            lambda t: t[0][: t[1] % len(t[0])] + t[2] + t[0][t[1] % len(t[0]) + len(t[2]) :]
        ),
    )
)
def test_any_datagram_gives_a_header_or_a_malformed_error(data: bytes) -> None:
    try:
        header = trapwire.read_header(data)
    except PollError as exc:
        assert "not" in str(exc) or "SNMP version" in str(exc)
    else:
        assert header.version in ("1", "2c", "3")


# ---- what real devices send (v1 Trap-PDUs, odd varbind orders, floods) -------------------------

CISCO_V1_LINK_DOWN = [  # after the enterprise: agent-addr, generic (linkDown), specific, uptime
    *("", "2", "0", ""),
    *("1.3.6.1.2.1.2.2.1.1.2", "i", "2", "1.3.6.1.2.1.2.2.1.2.2", "s", "GigabitEthernet0/2"),
    *("1.3.6.1.2.1.2.2.1.3.2", "i", "6", "1.3.6.1.4.1.9.2.2.1.1.20.2", "s", "administratively down"),
]


@pytest.mark.parametrize(
    "agent_addr",
    [
        pytest.param("0.0.0.0", id="agent-addr-0.0.0.0"),  # noqa: S104 (a v1 agent-addr, not a bind)
        pytest.param(OTHER_INTERFACE, id="agent-addr-another-interface"),
    ],
)
async def test_v1_trap_is_the_udp_sources_device_whatever_its_agent_addr(harness: Harness, agent_addr: str) -> None:
    harness.devices[HOST] = ("ups-1", "v1")
    harness.devices[OTHER_INTERFACE] = ("elsewhere", "v1")
    await harness.send(["-v", "1", "-c", "t-trap-v1comm"], [agent_addr, "3", "0", "", *LINK_UP[1:]])
    event = await harness.next_event()
    assert (event.device, event.source, event.trap, event.version, event.if_index) == ("ups-1", HOST, "linkUp", "1", 3)


async def test_cisco_v1_link_down_gives_its_interface(harness: Harness) -> None:
    harness.devices[HOST] = ("sw-access", "v1")
    await harness.send(["-v", "1", "-c", "t-trap-v1comm"], CISCO_V1_LINK_DOWN, first="1.3.6.1.4.1.9.1.1208")
    event = await harness.next_event()
    assert (event.trap, event.version, event.if_index, event.if_name) == ("linkDown", "1", 2, "GigabitEthernet0/2")
    assert harness.receiver.counts == {"accepted": 1}


@pytest.mark.parametrize(
    ("enterprise", "generic", "specific"),
    [
        pytest.param("1.3.6.1.4.1.318", "6", "5", id="apc-ups-on-battery"),
        pytest.param("1.3.6.1.4.1.9.9.41.2", "6", "1", id="cisco-syslog-clogMessageGenerated"),
        pytest.param("1.3.6.1.6.3.1.1.5", "6", "3", id="snmpTraps-as-enterprise-specific-3-is-not-linkDown"),
        pytest.param("1.3.6.1.4.1.4294967295.1", "6", "2147483647", id="largest-arcs"),
        pytest.param("0.0", "6", "0", id="enterprise-0.0"),
        pytest.param("1.3.6.1.4.1.8072.3.2.10", "4", "0", id="authenticationFailure"),
        pytest.param("1.3.6.1.4.1.8072.3.2.10", "5", "0", id="egpNeighborLoss"),
    ],
)
async def test_v1_enterprise_specific_and_other_generic_traps_are_ignored(
    harness: Harness, enterprise: str, generic: str, specific: str
) -> None:
    harness.devices[HOST] = ("ups-1", "v1")
    await harness.send(["-v", "1", "-c", "t-trap-v1comm"], ["", generic, specific, ""], first=enterprise)
    await harness.barrier()
    assert harness.receiver.counts == {"ignored": 1, "accepted": 1}
    assert not harness.events


SYS_UP_TIME = ("1.3.6.1.2.1.1.3.0", "timeticks", 1234)
TRAP_OID_LINK_DOWN = (trapwire.SNMP_TRAP_OID, "oid", "1.3.6.1.6.3.1.1.5.3")
IF_INDEX_2 = ("1.3.6.1.2.1.2.2.1.1.2", "int", 2)


def _v2c_datagram(community: str, var_binds: list[tuple[str, str, object]], *, inform: bool = False) -> bytes:
    """Encode a v2c trap (or inform) with pysnmp's protocol API, its varbinds in the order given."""
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    kinds: dict[str, Any] = {"timeticks": proto.TimeTicks, "oid": proto.ObjectIdentifier, "int": proto.Integer}
    kinds["str"] = proto.OctetString
    pdu = proto.InformRequestPDU() if inform else proto.SNMPv2TrapPDU()
    proto.apiPDU.set_defaults(pdu)
    encoded = [(proto.ObjectIdentifier(oid), kinds[kind](value)) for oid, kind, value in var_binds]
    proto.apiPDU.set_varbinds(pdu, encoded)
    return _encoded(proto, community, pdu)


@pytest.mark.parametrize(
    "var_binds",
    [
        pytest.param([TRAP_OID_LINK_DOWN, SYS_UP_TIME, IF_INDEX_2], id="snmpTrapOID-first"),
        pytest.param([TRAP_OID_LINK_DOWN, IF_INDEX_2], id="no-sysUpTime"),
        pytest.param([IF_INDEX_2, SYS_UP_TIME, TRAP_OID_LINK_DOWN], id="snmpTrapOID-last"),
    ],
)
async def test_v2c_trap_with_its_varbinds_out_of_rfc3416_order_is_still_delivered(
    harness: Harness, var_binds: list[tuple[str, str, object]]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(_v2c_datagram("t-trap-community", var_binds), harness.receiver.address)
    event = await harness.next_event()
    assert (event.trap, event.if_index) == ("linkDown", 2)


async def test_a_switch_reboot_queues_one_poll_of_the_switch_not_one_per_trap(harness: Harness) -> None:
    log = structlog.wrap_logger(structlog.PrintLogger(harness.logs))
    polls = TrapPolls(Runtime(Config.model_validate({}), log=log))
    delivered: list[TrapEvent] = []
    all_delivered = asyncio.Event()

    def feed(event: TrapEvent) -> None:  # the daemon's wiring (the receiver feeds the trap polls), counted
        polls.on_trap(event)
        delivered.append(event)
        if len(delivered) == len(traps_sent) + 1:  # and one linkDown from sw-other
            all_delivered.set()

    harness.receiver._on_trap = feed
    harness.devices["127.0.0.6"] = ("sw-other", "v2c")
    cold_start = (trapwire.SNMP_TRAP_OID, "oid", "1.3.6.1.6.3.1.1.5.1")
    traps_sent = [_v2c_datagram("t-trap-community", [SYS_UP_TIME, cold_start])]
    for if_index in range(1, 49):  # then a linkDown per port, as a 48-port switch sends while it boots
        link = [("1.3.6.1.2.1.2.2.1.1." + str(if_index), "int", if_index)]
        traps_sent.append(_v2c_datagram("t-trap-community", [SYS_UP_TIME, TRAP_OID_LINK_DOWN, *link]))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in traps_sent:
            sock.sendto(datagram, harness.receiver.address)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.6", 0))
        sock.sendto(traps_sent[1], harness.receiver.address)
    async with asyncio.timeout(TIMEOUT):
        await all_delivered.wait()
    assert polls.queued == 2  # one poll per device, not one per trap
    assert polls.pending() == {"sw-core": "linkDown", "sw-other": "linkDown"}  # the link trap's: it gets confirmed


V3_INFORM_CASES = [
    pytest.param("v3-authpriv", id="authPriv-sha256-aes128", marks=needs_crypto),
    pytest.param("v3-authnopriv", id="authNoPriv-sha"),
    pytest.param("v3-noauth", id="noAuthNoPriv"),
]


@pytest.mark.parametrize("profile", V3_INFORM_CASES)
async def test_v3_inform_discovers_the_receivers_engine_and_is_answered_and_delivered(
    harness: Harness, profile: str
) -> None:
    harness.devices[HOST] = ("rt-1", profile)
    code = await harness.send(["-v", "3", *V3_ARGS[profile]], LINK_DOWN, tool="snmpinform")
    event = await harness.next_event()
    assert (event.device, event.trap, event.version, event.if_index) == ("rt-1", "linkDown", "3", 2)
    assert code == 0  # snmpinform discovered the engine (RFC 3414 4) and got the receiver's response
    assert harness.receiver.counts["accepted"] == 1
    assert harness.receiver.counts.keys() <= {"accepted", "discovery"}


async def test_v3_inform_to_the_receivers_engine_id_given_in_advance_is_answered(harness: Harness) -> None:
    """Cisco IOS does not discover an inform's receiver: `snmp-server engineID remote` names it."""
    harness.devices[HOST] = ("rt-1", "v3-authnopriv")
    engine_id = ["-e", "0x" + harness.receiver.engine_id.hex()]
    code = await harness.send(["-v", "3", *engine_id, *V3_ARGS["v3-authnopriv"]], LINK_UP, tool="snmpinform")
    assert (await harness.next_event()).trap == "linkUp"
    assert code == 0


@pytest.mark.parametrize(
    ("profile", "override"),
    [
        pytest.param("v3-authnopriv", ["-A", "wrong-auth-key"], id="wrong-auth-key"),
        pytest.param("v3-authnopriv", ["-u", "someone-else"], id="unknown-user"),
        pytest.param("v3-authpriv", ["-X", "wrong-priv-key"], id="wrong-priv-key", marks=needs_crypto),
        pytest.param("v2c", [], id="v3-inform-to-a-v2c-device"),
    ],
)
async def test_v3_inform_with_wrong_user_or_keys_is_not_answered_and_counted(
    harness: Harness, profile: str, override: list[str]
) -> None:
    harness.devices[HOST] = ("rt-1", profile)
    args = V3_ARGS.get(profile, V3_ARGS["v3-authnopriv"])
    code = await harness.send(["-v", "3", *args, *override], LINK_UP, tool="snmpinform")
    await harness.barrier()
    assert code != 0
    assert harness.receiver.counts["bad_auth"] >= 1
    assert harness.receiver.counts.keys() <= {"bad_auth", "discovery", "accepted"}
    assert harness.receiver.counts["accepted"] == 1  # the barrier's


async def test_a_restarted_receiver_keeps_its_engine_id_and_its_engine_boots_grow() -> None:
    """RFC 3414 2.2.2: a sender that holds the old boots and time refuses a Report whose boots did not grow."""
    config = TrapConfig(listen=f"{HOST}:0", engine_id="80004fb8046e65746d6f6e2d74657374")
    seen = []
    for now in (1_800_000_000.0, 1_800_000_002.0):  # a restart two seconds later
        clock = functools.partial(float, now)
        receiver = TrapReceiver(config, PROFILES, dict, lambda _e: None, log=structlog.get_logger(), clock=clock)
        async with receiver:
            seen.append((receiver.engine_id, receiver.engine_boots))
    assert seen[0][0] == seen[1][0] == bytes.fromhex("80004fb8046e65746d6f6e2d74657374")
    assert seen[1][1] > seen[0][1] > 1


def test_the_default_engine_id_is_the_same_at_every_start_and_rfc3411_sized() -> None:
    engine_id = traps.engine_id_of(TrapConfig())
    assert engine_id == traps.engine_id_of(TrapConfig())
    assert 5 <= len(engine_id) <= 32
    assert engine_id[0] & 0x80  # RFC 3411: the enterprise-number format


@pytest.mark.parametrize(
    "after_reboot",
    [
        pytest.param("5,10", id="same-boots-time-went-back"),  # boots not persisted, or not counted
        pytest.param("1,10", id="boots-went-back"),  # boots reset by a firmware upgrade or a factory reset
    ],
)
async def test_v3_cold_start_from_an_engine_whose_boots_or_time_went_back_is_delivered(
    harness: Harness, after_reboot: str
) -> None:
    harness.devices[HOST] = ("ups-1", "v3-authnopriv")
    engine = ["-e", "0x8000000001020304", *V3_ARGS["v3-authnopriv"]]
    await harness.send(["-v", "3", *engine, "-Z", "5,100000"], LINK_UP)
    assert (await harness.next_event()).trap == "linkUp"
    await harness.send(["-v", "3", *engine, "-Z", after_reboot], COLD_START)
    assert (await harness.next_event()).trap == "coldStart"


def _v1_datagram(community: str) -> bytes:
    """Encode a Cisco-like v1 linkDown (generic 2, agent-addr another interface's) with pysnmp's protocol API."""
    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
    pdu = proto.TrapPDU()
    proto.apiTrapPDU.set_defaults(pdu)
    proto.apiTrapPDU.set_enterprise(pdu, (1, 3, 6, 1, 4, 1, 9, 1, 1208))
    proto.apiTrapPDU.set_agent_address(pdu, OTHER_INTERFACE)
    proto.apiTrapPDU.set_generic_trap(pdu, 2)
    if_descr = proto.OctetString("GigabitEthernet0/2")
    var_binds = [((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), proto.Integer(2)), ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 2), if_descr)]
    proto.apiTrapPDU.set_varbinds(pdu, var_binds)
    return _encoded(proto, community, pdu)


def _encoded(proto: Any, community: str, pdu: Any) -> bytes:
    """Wrap *pdu* in a community message of *proto*'s version, BER-encoded."""
    message = proto.Message()
    proto.apiMessage.set_defaults(message)
    proto.apiMessage.set_community(message, community)
    proto.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def _mutants(seed: bytes) -> list[bytes]:
    """Every truncation of *seed*, and every octet of it set to 0x00, 0x7f, 0x80 and 0xff."""
    out = [seed[:i] for i in range(len(seed))]
    out += [seed[:i] + bytes([b]) + seed[i + 1 :] for i in range(len(seed)) for b in (0x00, 0x7F, 0x80, 0xFF)]
    return [m for m in out if m != seed]


async def test_truncated_and_corrupted_datagrams_with_the_right_credentials_never_raise(harness: Harness) -> None:
    """Past the header check, pysnmp decodes and translates (RFC 3584) what a broken sender sends."""
    loop = asyncio.get_running_loop()
    raised: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: raised.append(context))
    harness.receiver.limiter = TokenBuckets(rate=1e6, burst=100000)
    v2c, v1, v3 = "127.0.0.6", "127.0.0.7", "127.0.0.8"  # not HOST: the barrier renames HOST's device
    harness.devices.update({v2c: ("sw-core", "v2c"), v1: ("ups-1", "v1"), v3: ("rt-1", "v3-authnopriv")})
    link_down = [SYS_UP_TIME, TRAP_OID_LINK_DOWN, IF_INDEX_2]
    corpus = [(v2c, m) for m in _mutants(_v2c_datagram("t-trap-community", link_down))]
    corpus += [(v2c, m) for m in _mutants(_v2c_datagram("t-trap-community", link_down, inform=True))]
    corpus += [(v1, m) for m in _mutants(_v1_datagram("t-trap-v1comm"))]
    corpus += [(v3, m) for m in _mutants(_SEEDS[0])]
    try:
        for start in range(0, len(corpus), 100):  # a batch at a time: the socket's buffer holds it
            for source, datagram in corpus[start : start + 100]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((source, 0))
                    sock.sendto(datagram, harness.receiver.address)
            await harness.barrier(skip=True)
    finally:
        loop.set_exception_handler(None)
    counts = harness.receiver.counts
    assert raised == []
    assert counts["error"] == 0
    assert sum(counts.values()) == len(corpus) + len(range(0, len(corpus), 100))  # each counted once


async def test_traps_from_many_unknown_sources_give_a_bounded_number_of_warnings(harness: Harness) -> None:
    """A campus whose 1,200 access points, none in the inventory, all send traps to netmon."""
    datagram = _v2c_datagram("t-trap-community", [SYS_UP_TIME, TRAP_OID_LINK_DOWN, IF_INDEX_2])
    sources = [f"127.1.{n // 200}.{n % 200 + 1}" for n in range(1200)]
    for _ in range(2):  # every source twice: more sources than the receiver remembers warning about
        for start in range(0, len(sources), 100):
            for source in sources[start : start + 100]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((source, 0))
                    sock.sendto(datagram, harness.receiver.address)
            await harness.barrier()
    assert harness.receiver.counts["unknown_source"] == 2400
    warnings = [line for line in harness.logs.getvalue().splitlines() if '"unknown_source"' in line]
    # traps.py's _WARN_BUDGET (20) and a line that says there are more; a slow run may refill a token or two
    assert 21 <= len(warnings) <= 30
    assert "further warnings are suppressed" in warnings[20]
