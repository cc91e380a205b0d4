"""Shared fixtures: real SQLite and PostgreSQL databases, one fresh schema per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from netmon.config import Config, SnmpProfile, load_config
from netmon.inventory import schema
from netmon.inventory.store import Store
from netmon.lab.agents import AgentSpec, RunningAgent, start_agent, stop_agent

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "netmon.example.yaml"
EXAMPLE_INVENTORY = ROOT / "config" / "inventory.example.yaml"
PG_URL = os.environ.get("NETMON_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def example_config() -> Config:
    return load_config(EXAMPLE_CONFIG, environ={})


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    engine = schema.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable (make test starts it): {exc}")
    yield engine
    engine.dispose()


def _pg_url(pg_engine: sa.Engine) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{name}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        with pg_engine.begin() as conn:
            conn.execute(sa.text(f'drop schema "{name}" cascade'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/netmon.db"
    else:
        yield from _pg_url(request.getfixturevalue("pg_engine"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated, empty store on each database kind."""
    engine = schema.create_engine(db_url)
    schema.upgrade(engine)
    engine.dispose()
    opened = Store.open(db_url)
    yield opened
    opened.close()


# ---- SNMP agents ---------------------------------------------------------------------------

AGENT_ADDRESS = "127.77.0.1"
AGENT_SYS_NAME = "netmon-test-agent"


def free_udp_port(address: str) -> int:
    """Return a UDP port that is free on *address* right now."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port


def free_tcp_port(address: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on *address* right now."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port


def lab_profiles(port: int) -> dict[str, SnmpProfile]:
    """Credential profiles for every SNMP version and v3 level the tests cover."""
    v3 = {"version": 3, "user": "netmon", "port": port}
    return Config.model_validate(
        {
            "snmp_profiles": {
                "v1": {"version": 1, "community": "t-community", "port": port},
                "v2c": {"version": "2c", "community": "t-community", "port": port},
                "v3-authnopriv": {**v3, "user": "netmon-auth", "auth_protocol": "sha", "auth_key": "t-auth-key-1"},
                "v3-authpriv": {
                    **v3,
                    "auth_protocol": "sha256",
                    "auth_key": "t-auth-key-2",
                    "priv_protocol": "aes128",
                    "priv_key": "t-priv-key-2",
                },
            }
        }
    ).snmp_profiles


@dataclass(frozen=True)
class AgentUnderTest:
    """A real snmpd started for the tests, with the profiles that reach it."""

    agent: RunningAgent
    address: str
    port: int
    profiles: dict[str, SnmpProfile]


@pytest.fixture(scope="session")
def snmp_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentUnderTest]:
    """One real snmpd on a loopback address and a free port, for the whole session."""
    port = free_udp_port(AGENT_ADDRESS)
    profiles = lab_profiles(port)
    spec = AgentSpec(
        name="test", port=port, addresses=(AGENT_ADDRESS, "::1"), profiles=profiles, sys_name=AGENT_SYS_NAME
    )
    agent = start_agent(spec, tmp_path_factory.mktemp("snmpd"))
    yield AgentUnderTest(agent=agent, address=AGENT_ADDRESS, port=port, profiles=profiles)
    assert stop_agent(agent)
