"""Imported by every Python process started with this directory on PYTHONPATH: `daemon_bench --loopwatch, --census`."""

from tests.bench import heapcensus, loopwatch

loopwatch.install_from_env()
heapcensus.install_from_env()
