"""Shared fixtures: real SQLite and PostgreSQL databases, one fresh schema per test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from netmon.config import Config, SnmpProfile, load_config
from netmon.inventory import schema
from netmon.inventory.store import Store
from netmon.lab.agents import AgentSpec, RunningAgent, start_agent, stop_agent

# CI (CI=true) runs every Hypothesis test with a fixed seed, so that a landing never hangs on a
# case found by chance; developers' runs stay random and find new cases (as the reload fuzz did).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

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


# ---- snmpsim: the hand-written corpus of agent behaviours (tests/agents, issue 13) ------------

CORPUS = ROOT / "tests" / "agents"
SIM_ADDRESS = "127.77.13.1"
#: snmpsim also listens here (same port), so that an inventory can give each data file its own device.
SIM_EXTRA_ADDRESSES = tuple(f"127.77.13.{n}" for n in range(11, 19))


@dataclass(frozen=True)
class Simulator:
    """A running snmpsim serving every `tests/agents/*.snmprec`; the community is the file's stem."""

    address: str
    port: int

    def profiles(self, *communities: str) -> dict[str, SnmpProfile]:
        """Profiles "<community>-v1" and "<community>-v2c" for each data file named."""
        raw = {
            f"{name}-v{version}": {"version": version, "community": name, "port": self.port}
            for name in communities
            for version in ("1", "2c")
        }
        return Config.model_validate({"snmp_profiles": raw}).snmp_profiles


def _snmpsim_command(port: int, cache: Path) -> list[str]:
    """snmpsim as root must drop privileges; the user it drops to cannot read a Python under /root
    (FIELD-NOTES), so it then runs on the system Python of the same version with our site-packages."""
    common = [
        f"--data-dir={CORPUS}",
        *(f"--agent-udpv4-endpoint={address}:{port}" for address in (SIM_ADDRESS, *SIM_EXTRA_ADDRESSES)),
        f"--cache-dir={cache}",
        "--logging-method=stderr",
        "--log-level=error",
    ]
    if os.geteuid() != 0:
        return [sys.executable, "-m", "snmpsim.commands.responder", *common]
    system_python = Path(f"/usr/bin/python3.{sys.version_info.minor}")
    if not system_python.exists():
        pytest.fail(f"snmpsim as root needs {system_python} (the venv's Python may be unreadable to nobody)")
    return [
        str(system_python),
        "-m",
        "snmpsim.commands.responder",
        *common,
        "--process-user=nobody",
        "--process-group=nogroup",
    ]


@pytest.fixture(scope="session")
def snmpsim_agent() -> Iterator[Simulator]:
    """One snmpsim for the session, on a loopback address; waits until an snmpget answers."""
    port = free_udp_port(SIM_ADDRESS)
    # outside pytest's 0700 tmp tree: snmpsim writes its index there after dropping to nobody
    with tempfile.TemporaryDirectory(prefix="netmon-snmpsim-") as cache_dir:
        Path(cache_dir).chmod(0o777)
        yield from _run_snmpsim(port, Path(cache_dir))


def _run_snmpsim(port: int, cache: Path) -> Iterator[Simulator]:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = {**os.environ, "PYTHONPATH": site}
    process = subprocess.Popen(_snmpsim_command(port, cache), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    probe = [
        "snmpget",
        "-v2c",
        "-c",
        "system-only",
        "-t",
        "0.3",
        "-r",
        "0",
        f"{SIM_ADDRESS}:{port}",
        "1.3.6.1.2.1.1.5.0",
    ]
    try:
        for _ in range(100):  # indexing the corpus takes a few seconds; each try waits up to 0.3 s + 0.2 s
            if subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0:
                break
            try:
                process.wait(timeout=0.2)  # paces the probes and notices a crash
            except subprocess.TimeoutExpired:
                continue
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"snmpsim exited with {process.returncode}: {output[-2000:]}")
        else:
            pytest.fail("snmpsim did not answer within ~50 s")
        yield Simulator(address=SIM_ADDRESS, port=port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
