"""Demo helper: wait until `netmon run` is ready, then print what its API and /metrics show."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from netmon.config import load_config

_CONFIG = os.environ.get("NETMON_CONFIG")
BASE = f"http://{load_config(Path(_CONFIG) if _CONFIG else None).http.listen}"


def get(path: str) -> bytes:
    """Fetch *path* from the daemon."""
    with urllib.request.urlopen(BASE + path, timeout=5) as reply:  # noqa: S310 (the configured listen address)
        return bytes(reply.read())


def main() -> int:
    """Wait up to 60 s for readiness, then print a summary."""
    deadline = time.monotonic() + 60
    while True:
        try:
            get("/readyz")
            break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                print("demo: netmon did not become ready within 60 s", file=sys.stderr)  # noqa: T201
                return 1
            time.sleep(0.5)  # polling the readiness endpoint, bounded by the deadline
    devices = json.loads(get("/api/v1/devices?unit=SL-LG"))["devices"]
    links = json.loads(get("/api/v1/links?unit=SL-LG"))["links"]
    lines = [f"demo: ready. {BASE}/api/v1/devices?unit=SL-LG ->"]
    for d in devices:
        lines.append(f"  {d['name']:<18} {d['role']:<12} {d['state']:<8} {(d['rtt_seconds'] or 0) * 1e3:.2f} ms")
    lines += [f"{BASE}/api/v1/links?unit=SL-LG ->"]
    lines += [f"  {k['name']:<22} {k['kind']:<9} {k['state']}" for k in links]
    metrics = get("/metrics").decode().splitlines()
    lines += [f"{BASE}/metrics -> {len(metrics)} lines, e.g.:"]
    lines += ["  " + m for m in metrics if m.startswith(("netmon_link_up{", "netmon_outages_open{"))][:8]
    print("\n".join(lines))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
