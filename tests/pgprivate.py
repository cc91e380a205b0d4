"""A private PostgreSQL for tests that stop and restart the server: initdb + pg_ctl on a free port.

The shared server on 127.0.0.1:5432 is never touched. As root, the cluster runs as the
`postgres` user (PostgreSQL refuses to run as root) in a folder of its own under /tmp, removed
afterwards. It listens on 127.0.0.1 and a socket in its folder, with trust authentication.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_tcp_port

__all__ = ["PrivatePostgres", "private_postgres"]


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@dataclass
class PrivatePostgres:
    """One PostgreSQL cluster of the test's own; `stop()` and `start()` it as often as needed."""

    folder: Path
    port: int
    bin: Path
    user: str | None  # run the server as this user (when the tests run as root)

    @property
    def url(self) -> str:
        """Return the URL of its `postgres` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise AssertionError(f"{argv[0]} failed: {result.stderr or result.stdout}\n{tail}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections (pg_ctl -w, bounded)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (fast shutdown: sessions are ended)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "-t", "60", "stop")

    def running(self) -> bool:
        """Tell whether the server's postmaster is up."""
        return (self.folder / "data" / "postmaster.pid").exists()


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Create, start, and afterwards stop and remove a private cluster; skip when PostgreSQL is not installed."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries are not installed (scripts/ensure-system.sh postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user to run a private server")
        user = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="netmon-pg-"))
    try:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        server = PrivatePostgres(folder=folder, port=free_tcp_port(), bin=bin_dir, user=user)
        server._run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync", timeout=120)
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
