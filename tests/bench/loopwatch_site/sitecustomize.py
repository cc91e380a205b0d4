"""Imported by every Python process started with this directory on PYTHONPATH: the daemon bench's `--loopwatch`."""

from tests.bench.loopwatch import install_from_env

install_from_env()
