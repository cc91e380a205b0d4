"""The daemon does not load pysnmp unless it receives traps or polls a v3 context (issue 12: ~20 MB of its memory)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pysnmp", "pysmi", "pyasn1")

_PROBE = """
import json, sys
import netmon.cli, netmon.cli.run, netmon.daemon, netmon.pollers.snmp, netmon.sinks.prometheus
import netmon.monitor.trappolls
before = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
import netmon.pollers.traps
after = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps([before, after]))
"""


def test_the_daemon_loads_pysnmp_only_for_traps() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY)], capture_output=True, text=True, timeout=120, check=True
    )
    before, after = json.loads(done.stdout)
    assert before == []
    assert "pysnmp" in after  # the probe sees an import when there is one
