"""A bad edit never stops the monitoring (issue 15, failures 1 and 2), on SQLite and PostgreSQL.

- `netmon run` gets SIGHUP after each of the edits that stopped it (a date the calendar lacks, an
  empty file, a profile the inventory still uses gone, ...): it logs why and keeps running; a
  start with the same file exits 2 with `file:line: key: message` and no traceback, so systemd's
  `RestartPreventExitStatus=2` ends the restart loop.
- The reload fuzz: one running daemon reloads Hypothesis mutations of a valid config; each
  either applies whole or is refused with an input error and changes nothing.
  NETMON_FUZZ_CASES sets its size (default 200).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO

import pytest
from hypothesis import HealthCheck, given, settings

from netmon.config import load_config
from netmon.errors import InputError
from netmon.loading import reload_loader
from tests.integration.test_systemd import UNIT, directives
from tests.monitoring import import_inventory, running
from tests.unit.test_input_errors import FUZZ_CASES, _mutated

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
devices:
  - {name: core, unit: P, role: router, address: 127.79.2.1, snmp: lab}
  - {name: edge, unit: P, role: switch, address: 127.79.2.2, parent: core}
"""

CONFIG = """\
database:
  url: {url}
snmp_profiles:
  lab:
    version: 2c
    community: fuzz-community
    port: 9
polling:
  ping: {{interval: 1, timeout: 0.3, retries: 0, count: 1, packet_interval: 0}}
  snmp: {{interval: 1, timeout: 0.5, retries: 0}}
  host_resources: {{interval: 3600, timeout: 0.5, retries: 0}}
state:
  down_after: 2
  up_after: 1
http:
  listen: 127.0.0.1:{port}
mqtt:
  enabled: false
availability:
  rollup_interval: 3600
maintenance:
  - name: bảo trì
    objects: [device:edge]
    start: 2026-12-01T22:00:00+07:00
    end: 2026-12-02T02:00:00+07:00
timezone: Asia/Ho_Chi_Minh
"""

#: Edits that stopped the daemon or were silently accepted, and what the log must say.
BAD_EDITS = [
    pytest.param(
        ("end: 2026-12-02T02:00:00+07:00", "end: 2026-12-32T02:00:00+07:00"),
        "maintenance[0].end: YAML: '2026-12-32T02:00:00+07:00' is not a valid timestamp",
        id="impossible-day",
    ),
    pytest.param(
        ("timezone: Asia/Ho_Chi_Minh", "timezone: 2026-02-30"),
        "timezone: YAML: '2026-02-30' is not a valid timestamp",
        id="february-30",
    ),
    pytest.param(
        ("community: fuzz-community", "community: !!timestamp hello"),
        "snmp_profiles.lab.community: YAML: 'hello' is not a valid timestamp",
        id="timestamp-tag",
    ),
    pytest.param(None, "the config file is empty", id="empty-file"),
    pytest.param(
        ("  lab:\n    version: 2c\n    community: fuzz-community\n    port: 9\n", "  {}\n"),
        "snmp_profiles.lab: missing, but the inventory still uses it (core)",
        id="profile-gone",
    ),
    pytest.param(("  down_after: 2", "  down_after: \x00"), "YAML: character #x0000 is not allowed", id="nul"),
]


def _config_text(db_url: str, port: int = 0) -> str:
    return CONFIG.format(url=db_url, port=port)


def _edit(text: str, edit: tuple[str, str] | None) -> str:
    if edit is None:
        return ""
    old, new = edit
    assert old in text
    return text.replace(old, new)


class _Lines:
    """Reads a process's stdout in a thread, so that waiting for a line is bounded.

    The thread is the stream's only reader, until the end: `finish` waits for it (no
    `communicate`, which would read and close the same stream under it).
    """

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._pump, args=(stream,), name="stdout-reader", daemon=True)
        self._reader.start()

    def finish(self, within: float) -> bool:
        """Wait for the reader to reach the end of the stream (the process has exited); tell whether it did.

        The lines no `expect` took are added to `seen`, so that checks of the whole output see them.
        """
        self._reader.join(within)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return not self._reader.is_alive()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def expect(self, text: str, within: float = 30.0) -> dict[str, object]:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line and line.startswith("{"):
                parsed: dict[str, object] = json.loads(line)
                return parsed
        pytest.fail(f"no log line with {text!r} within {within} s")


@pytest.mark.parametrize(("edit", "logged"), BAD_EDITS)
def test_a_bad_edit_on_sighup_keeps_monitoring_and_exits_2_at_start(
    db_url: str, tmp_path: Path, edit: tuple[str, str] | None, logged: str
) -> None:
    path = _write(tmp_path / "netmon.yaml", _config_text(db_url))
    import_inventory(db_url, INVENTORY, tmp_path, load_config(path, environ={}).snmp_profiles)
    env = {**os.environ, "NETMON_CONFIG": str(path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "netmon", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: _Lines | None = None
    try:
        assert process.stdout is not None
        lines = _Lines(process.stdout)
        lines.expect("first round done")
        _write(path, _edit(_config_text(db_url), edit))
        process.send_signal(signal.SIGHUP)
        failed = lines.expect("reload failed")
        assert logged in str(failed["error"])
        assert process.poll() is None  # still monitoring
        _write(path, _config_text(db_url))
        process.send_signal(signal.SIGHUP)  # a good file still reloads afterwards
        lines.expect('"reloaded"')
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        assert process.stderr is not None
        err = process.stderr.read()
    finally:
        process.kill()
        process.wait(timeout=10)
        ended = lines is not None and lines.finish(within=10)  # at the end of stdout: the process is gone
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert ended, "stdout was not read to its end within 10 s of the exit"
    assert process.returncode == 0, err
    assert "fuzz-community" not in "".join(lines.seen) + err
    _write(path, _edit(_config_text(db_url), edit))
    start = subprocess.run(
        [sys.executable, "-m", "netmon", "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if edit is None:
        return  # a start takes an empty file: the defaults (documented in docs/operations.md)
    assert start.returncode == 2, start.stderr
    assert f"{path}:" in start.stderr or "config: snmp_profiles.lab" in start.stderr  # the daemon knows no path
    assert logged in start.stderr
    assert "Traceback" not in start.stderr + start.stdout


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


FUZZ_COUNTS: Counter[str] = Counter()


def test_reload_fuzz_applies_whole_or_changes_nothing(db_url: str, tmp_path: Path) -> None:
    valid = _config_text(db_url)
    path = _write(tmp_path / "netmon.yaml", valid)
    config = load_config(path, environ={})
    import_inventory(db_url, INVENTORY, tmp_path, config.snmp_profiles)
    loop = asyncio.new_event_loop()
    daemon_cm = running(config, load_config=reload_loader(path))
    daemon = loop.run_until_complete(daemon_cm.__aenter__())
    try:

        @settings(max_examples=FUZZ_CASES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(text=_mutated(valid))
        def reload_once(text: str) -> None:
            path.write_bytes(text.encode("utf-8", "surrogatepass"))
            rt = daemon.runtime
            before = (rt.config, rt.live, rt.catalog, rt.reloads)
            try:
                loop.run_until_complete(daemon.reload())
            except InputError:
                assert (rt.config, rt.live, rt.catalog, rt.reloads) == before  # nothing half-applied
                FUZZ_COUNTS["refused"] += 1
            else:
                assert rt.reloads == before[3] + 1
                assert daemon.live is not before[1]
                FUZZ_COUNTS["applied"] += 1

        reload_once()
    finally:
        path.write_text(valid, encoding="utf-8")
        loop.run_until_complete(daemon_cm.__aexit__(None, None, None))
        loop.close()
    sys.stderr.write(f"reload fuzz ({db_url.split(':', maxsplit=1)[0]}): {dict(FUZZ_COUNTS)}\n")
    assert FUZZ_COUNTS["refused"] > 0


def test_systemd_stops_restarting_on_exit_2_and_the_journal_gets_stderr() -> None:
    unit = directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Restart"] == ["on-failure"]  # exit 1 (runtime failure) is restarted ...
    assert unit["RestartPreventExitStatus"] == ["2"]  # ... exit 2 (bad config or inventory) is not
    assert "StandardError" not in unit  # the default: stderr (the file:line: key lines) goes to the journal
    assert "StandardOutput" not in unit
