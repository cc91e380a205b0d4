"""Benchmark harness: what fping and snmp_exporter cost for the work netmon does per device.

Two reference tools are measured on the same targets netmon polls, so netmon's own numbers have
something to be compared with:

* ``fping_cost`` runs one ``fping -C`` over a list of addresses and reports the CPU time of that
  fping process alone (``os.wait4`` on its pid, not ``RUSAGE_CHILDREN``, which would mix in every
  other child this process ever reaped).
* ``snmp_exporter_cost`` runs Prometheus' snmp_exporter (Debian 12 ships 0.21) with a module that
  asks for exactly what netmon's SNMP poller asks for, scrapes every target once and reports the
  exporter's CPU time from ``/proc/PID/stat``.

``python -m tests.bench.compare`` is a self-test: a real snmpd on 20 loopback addresses, both
measurements, both dicts printed. Traffic goes to loopback only. Never asserts a timing.

Needs ``apt-get install fping prometheus-snmp-exporter snmpd snmp`` (do not start the Debian
service; this module runs the binary itself).
"""

from __future__ import annotations

import http.client
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO

import yaml

__all__ = ["fping_cost", "snmp_exporter_config", "snmp_exporter_cost"]

#: fping's -i, the gap between any two packets fping sends (default 10 ms, which alone caps a run
#: at 100 packets/s). 1 ms is the smallest value fping's "safe limits" would let a non-root user
#: pass; Debian's fping 5.1 is built without those limits (it takes -i 0 and fractions like 0.5,
#: even unprivileged), but 1 ms keeps the comparison with a realistic, non-flooding pacing.
FPING_SEND_INTERVAL_MS = 1
FPING = shutil.which("fping") or "/usr/bin/fping"
SNMP_EXPORTER = shutil.which("prometheus-snmp-exporter") or shutil.which("snmp_exporter") or "snmp_exporter"
MODULE = "netmon"

_SYSTEM_GETS = {
    "sysDescr": ("1.3.6.1.2.1.1.1", "DisplayString"),
    "sysObjectID": ("1.3.6.1.2.1.1.2", "DisplayString"),
    "sysUpTime": ("1.3.6.1.2.1.1.3", "gauge"),
    "sysName": ("1.3.6.1.2.1.1.5", "DisplayString"),
}
# The IF-MIB columns netmon's SNMP poller walks (64-bit octet counters; no 32-bit fallback).
# netmon walks ifDescr and ifSpeed only when an agent lacks ifName or ifHighSpeed; the lab's
# agents have both, so the equivalent module leaves them out too.
_IF_COLUMNS = {
    "ifAdminStatus": ("1.3.6.1.2.1.2.2.1.7", "gauge"),
    "ifOperStatus": ("1.3.6.1.2.1.2.2.1.8", "gauge"),
    "ifInDiscards": ("1.3.6.1.2.1.2.2.1.13", "counter"),
    "ifInErrors": ("1.3.6.1.2.1.2.2.1.14", "counter"),
    "ifOutDiscards": ("1.3.6.1.2.1.2.2.1.19", "counter"),
    "ifOutErrors": ("1.3.6.1.2.1.2.2.1.20", "counter"),
    "ifName": ("1.3.6.1.2.1.31.1.1.1.1", "DisplayString"),
    "ifHCInOctets": ("1.3.6.1.2.1.31.1.1.1.6", "counter"),
    "ifHCOutOctets": ("1.3.6.1.2.1.31.1.1.1.10", "counter"),
    "ifHighSpeed": ("1.3.6.1.2.1.31.1.1.1.15", "gauge"),
    "ifAlias": ("1.3.6.1.2.1.31.1.1.1.18", "DisplayString"),
}


# ---- fping ---------------------------------------------------------------------------------------


def _parse_fping_counts(text: str, addresses: set[str]) -> int:
    """Count replies in fping -C -q output: one ``addr : 0.05 0.04 -`` line per target."""
    replies = 0
    for line in text.splitlines():
        addr, sep, rest = line.partition(" : ")
        if not sep or addr.strip() not in addresses:
            continue  # ICMP error chatter ("ICMP Host Unreachable from ...") and the like
        fields = rest.split()
        if all(f == "-" or f.replace(".", "", 1).isdigit() for f in fields):
            replies += sum(1 for f in fields if f != "-")
    return replies


def _reap(pid: int, timeout: float) -> tuple[int, resource.struct_rusage, float] | None:
    """Wait up to ``timeout`` s for child ``pid``; reap it with wait4, or return None on timeout.

    Returns the wait status, the child's own rusage and its peak RSS in MiB. That peak is sampled
    from /proc/PID/status (VmHWM) while the child runs, every few ms: the rusage's ru_maxrss is
    useless here, because Linux carries the parent's high-water mark across the fork+exec, so a
    child of this Python process reports at least Python's RSS (about 20 MiB for a ~2 MiB fping).
    """
    deadline = time.monotonic() + timeout
    peak = _proc_hwm_mb(pid)
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([pidfd], [], [], min(remaining, 0.005))
            if ready:
                break
            peak = max(peak, _proc_hwm_mb(pid))
    finally:
        os.close(pidfd)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, peak


def fping_cost(
    addresses: list[str], *, count: int, interval_ms: int, timeout_ms: int, namespace: str | None = None
) -> dict[str, float]:
    """Run one fping -C over ``addresses`` and report the CPU time of that fping process alone."""
    if not addresses:
        raise ValueError("no addresses")
    argv = [FPING, "-C", str(count), "-p", str(interval_ms), "-t", str(timeout_ms), "-i", str(FPING_SEND_INTERVAL_MS)]
    argv += ["-q", "-f", "-"]
    if namespace is not None:
        # `ip netns exec` enters the namespace and execs fping in the same process, so the pid
        # (and the rusage wait4 returns) is still fping's own.
        argv = ["ip", "netns", "exec", namespace, *argv]
    packets = len(addresses) * count
    # Upper bound of a healthy run: the per-target schedule, the send pacing, the last timeout.
    budget = (count * interval_ms + packets * FPING_SEND_INTERVAL_MS + timeout_ms) / 1000 * 2 + 10
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err)
        try:
            assert proc.stdin is not None
            # fping reads the whole list before its first packet, so this cannot block for long.
            proc.stdin.write("".join(f"{a}\n" for a in addresses).encode())
            proc.stdin.close()
            reaped = _reap(proc.pid, budget)
            wall = time.perf_counter() - started
            if reaped is None:
                raise TimeoutError(f"fping still running after {budget:.0f} s")
            status, usage, peak_mb = reaped
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        text = _read_all(err) + _read_all(out)
    # fping exits 1 when some target did not answer, 2 when a name did not resolve.
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(f"fping exited {proc.returncode}: {text.strip()[:500]}")
    cpu = float(usage.ru_utime + usage.ru_stime)
    return {
        "cpu_seconds": cpu,
        "packets": float(packets),
        "replies": float(_parse_fping_counts(text, set(addresses))),
        "cpu_per_packet_us": cpu / packets * 1e6,
        "wall_seconds": wall,
        "max_rss_mb": peak_mb,  # sampled VmHWM; see _reap for why not ru_maxrss
    }


def _read_all(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode(errors="replace")


# ---- snmp_exporter -------------------------------------------------------------------------------


def _metric(name: str, oid: str, kind: str, *, indexed: bool) -> dict[str, object]:
    metric: dict[str, object] = {"name": name, "oid": oid, "type": kind, "help": f"{name} ({oid})"}
    if indexed:
        metric["indexes"] = [{"labelname": "ifIndex", "type": "gauge"}]
    return metric


def _go_duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def snmp_exporter_config(
    community: str, *, port: int = 161, timeout_s: float = 2.0, retries: int = 1, max_repetitions: int = 25
) -> str:
    """Return snmp.yml (snmp_exporter 0.21 format) with a ``netmon`` module polling what netmon polls."""
    module: dict[str, object] = {
        "get": [f"{oid}.0" for oid, _ in _SYSTEM_GETS.values()],
        "walk": [oid for oid, _ in _IF_COLUMNS.values()],
        "metrics": [_metric(name, oid, kind, indexed=False) for name, (oid, kind) in _SYSTEM_GETS.items()]
        + [_metric(name, oid, kind, indexed=True) for name, (oid, kind) in _IF_COLUMNS.items()],
        "version": 2,
        "max_repetitions": max_repetitions,
        "retries": retries,
        "timeout": _go_duration(timeout_s),
        "auth": {"community": community},
    }
    # 0.21 reads the file strictly and its modules have no port setting: the port travels in the
    # scrape's target parameter (target=ADDR:PORT, split with Go's net.SplitHostPort).
    header = f"# generated by tests/bench/compare.py; SNMP port {port} goes in target=ADDR:{port}\n"
    return header + yaml.safe_dump({MODULE: module}, sort_keys=False)


def _with_port(target: str, port: int) -> str:
    """Append ``:port`` to a target that has none (brackets for a bare IPv6 address)."""
    if target.startswith("[") and "]:" in target:
        return target
    if target.count(":") == 1:
        return target
    if ":" in target:
        return f"[{target}]:{port}"
    return f"{target}:{port}"


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _proc_cpu_seconds(pid: int) -> float:
    """User+system CPU of ``pid`` (all its threads) from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of ``pid`` in MiB; 0 once it has exited (a zombie has no memory)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Terminate ``proc`` and wait for it; kill it if it outlives ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_http_ready(proc: subprocess.Popen[bytes], port: int, log: Path, deadline_s: float = 15.0) -> None:
    """Poll the exporter's landing page until it answers; fail if it dies or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            status, _ = _http_get(port, "/", timeout=1.0)
        except OSError:
            status = 0
        if status == 200:
            return
        try:
            proc.wait(timeout=0.02)  # the pause between attempts, and notice of an early exit
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"snmp_exporter exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
    raise TimeoutError(f"snmp_exporter not ready on 127.0.0.1:{port} after {deadline_s:.0f} s")


def _scrape_ok(status: int, body: bytes) -> bool:
    """Did a scrape return real data: HTTP 200 with interface counters, uptime and the duration."""
    return (
        status == 200
        and b"\nifHCInOctets{" in body
        and b"\nsysUpTime " in body
        and b"\nsnmp_scrape_duration_seconds" in body
    )


def snmp_exporter_cost(
    targets: list[str], *, community: str, port: int = 161, concurrency: int = 50
) -> dict[str, float]:
    """Scrape every target once through snmp_exporter and report the exporter's CPU time."""
    if not targets:
        raise ValueError("no targets")
    timeout_s, retries = 2.0, 1
    # Ceiling for one scrape: every get and walk may time out once per try; the exporter itself
    # gives up sooner, so this only keeps a wedged connection from hanging the benchmark.
    per_scrape = timeout_s * (retries + 1) * (len(_IF_COLUMNS) + 1) + 5
    rounds = -(-len(targets) // max(concurrency, 1))
    with tempfile.TemporaryDirectory(prefix="netmon-snmp-exporter-") as tmp:
        config = Path(tmp) / "snmp.yml"
        config.write_text(snmp_exporter_config(community, port=port, timeout_s=timeout_s, retries=retries))
        log = Path(tmp) / "exporter.log"
        http_port = _free_tcp_port()
        argv = [
            SNMP_EXPORTER,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{http_port}",
            "--log.level=warn",
        ]
        with log.open("wb") as log_out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_out, stderr=subprocess.STDOUT)
        try:
            _wait_http_ready(proc, http_port, log)
            cpu_before = _proc_cpu_seconds(proc.pid)
            paths = [
                "/snmp?" + urllib.parse.urlencode({"module": MODULE, "target": _with_port(t, port)}) for t in targets
            ]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=max(concurrency, 1)) as pool:
                futures = [pool.submit(_http_get, http_port, path, per_scrape) for path in paths]
                # a failed scrape raises in its future and only counts as not ok; never stops the rest
                done, pending = wait(futures, timeout=per_scrape * rounds + 10)
                for future in pending:
                    future.cancel()
            wall = time.perf_counter() - started
            cpu = _proc_cpu_seconds(proc.pid) - cpu_before
            rss = _proc_hwm_mb(proc.pid)
        finally:
            _stop(proc)
    ok = 0
    for future in done:
        try:
            status, body = future.result()
        except (OSError, http.client.HTTPException):
            continue
        ok += _scrape_ok(status, body)
    return {
        "cpu_seconds": cpu,
        "scrapes": float(len(targets)),
        "ok": float(ok),
        "cpu_per_scrape_ms": cpu / len(targets) * 1000,
        "wall_seconds": wall,
        "max_rss_mb": rss,
    }


# ---- self-test -----------------------------------------------------------------------------------

_SELFTEST_HOSTS = [f"127.78.0.{i}" for i in range(1, 21)]
_COMMUNITY = "bench"


def _free_udp_port(hosts: list[str], tries: int = 20) -> int:
    """A UDP port free on every one of ``hosts``."""
    for _ in range(tries):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        socks: list[socket.socket] = []
        try:
            for host in hosts:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((host, port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return port
    raise RuntimeError("no UDP port free on all self-test addresses")


def _start_snmpd(workdir: Path, hosts: list[str], port: int) -> subprocess.Popen[bytes]:
    """Start snmpd answering community ``bench`` on ``hosts`` at ``port``; return once it answers."""
    persist = workdir / "persist"
    persist.mkdir()
    conf = workdir / "snmpd.conf"
    conf.write_text(
        f"agentAddress {','.join(f'udp:{h}:{port}' for h in hosts)}\n"
        f"rocommunity {_COMMUNITY} 127.0.0.0/8\n"
        "master no\n"
        f"[snmp] persistentDir {persist}\n"
    )
    log = workdir / "snmpd.log"
    argv = ["snmpd", "-f", "-C", "-c", str(conf), "-I", "-smux", "-Lf", str(log), "-m", ""]
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist)}
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        _wait_snmpd_ready(proc, f"{hosts[-1]}:{port}", log)
    except BaseException:
        _stop(proc)
        raise
    return proc


def _wait_snmpd_ready(proc: subprocess.Popen[bytes], target: str, log: Path, deadline_s: float = 15.0) -> None:
    """Poll snmpd with snmpget until it answers; fail if it dies or the deadline passes."""
    probe = ["snmpget", "-v2c", "-c", _COMMUNITY, "-r0", "-t0.3", "-m", "", "-On", target, "1.3.6.1.2.1.1.3.0"]
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"snmpd exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        # the -t0.3 timeout of a not-yet-answering agent is the pause between attempts
        if subprocess.run(probe, capture_output=True, timeout=5, check=False).returncode == 0:
            return
    raise TimeoutError(f"snmpd did not answer on {target} after {deadline_s:.0f} s")


def main() -> int:
    """Self-test: real snmpd on 20 loopback addresses, then both measurements."""
    for tool in (FPING, SNMP_EXPORTER, "snmpd", "snmpget"):
        if shutil.which(tool) is None:
            print(f"missing {tool}: apt-get install fping prometheus-snmp-exporter snmpd snmp", file=sys.stderr)  # noqa: T201
            return 2
    with tempfile.TemporaryDirectory(prefix="netmon-compare-") as tmp:
        port = _free_udp_port(_SELFTEST_HOSTS)
        snmpd = _start_snmpd(Path(tmp), _SELFTEST_HOSTS, port)
        try:
            ping = fping_cost(_SELFTEST_HOSTS, count=3, interval_ms=100, timeout_ms=500)
            print("fping        ", ping)  # noqa: T201 (a benchmark reports on stdout)
            snmp = snmp_exporter_cost(
                [f"{h}:{port}" for h in _SELFTEST_HOSTS], community=_COMMUNITY, port=port, concurrency=50
            )
            print("snmp_exporter", snmp)  # noqa: T201 (a benchmark reports on stdout)
        finally:
            _stop(snmpd)
    if ping["replies"] <= 0 or snmp["ok"] <= 0:
        print("self-test FAILED: no replies or no good scrapes", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
