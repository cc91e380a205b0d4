"""On PYTHONPATH of the daemon: daemon_bench --loopwatch, --census, --cpu-profile."""

from tests.bench import cpuprofile, heapcensus, loopwatch

loopwatch.install_from_env()
heapcensus.install_from_env()
cpuprofile.install_from_env()
