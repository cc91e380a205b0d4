"""Benchmark: `netmon inventory import` of a generated 10,000-device province, SQLite and PostgreSQL.

Runs the real console script; reports wall time and peak memory. Never asserts a timing.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
import yaml

from netmon.inventory import schema
from netmon.lab.generate import synthetic_province
from tests.conftest import EXAMPLE_CONFIG, PG_URL

NETMON = str(Path(sys.executable).with_name("netmon"))


def _run(config: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([NETMON, *args, "--config", str(config)], check=True, stdout=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - start


def _bench(name: str, url: str, inventory: Path, workdir: Path) -> None:
    config = workdir / f"{name}.yaml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("url: sqlite:///var/netmon.db", f"url: {url}")
    config.write_text(text, encoding="utf-8")
    _run(config, "db", "upgrade")
    first = _run(config, "inventory", "import", str(inventory))
    again = _run(config, "inventory", "import", str(inventory))
    dry = _run(config, "inventory", "import", str(inventory), "--dry-run")
    export = _run(config, "inventory", "export", "-o", str(workdir / f"{name}-export.yaml"))
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(  # noqa: T201 (a benchmark reports on stdout)
        f"{name:<11} first import {first:6.2f} s   re-import {again:6.2f} s   dry-run {dry:6.2f} s   "
        f"export {export:6.2f} s   peak RSS so far {rss:5.0f} MiB"
    )


def main() -> None:
    """Generate the province, then time the imports on both databases."""
    with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
        workdir = Path(tmp)
        doc = synthetic_province(10_000)
        inventory = workdir / "province.yaml"
        inventory.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        print(  # noqa: T201 (a benchmark reports on stdout)
            f"generated: {len(doc['units'])} units, {len(doc['devices'])} devices, {len(doc['links'])} links "
            f"({inventory.stat().st_size / 1e6:.1f} MB YAML)"
        )
        _bench("sqlite", f"sqlite:///{workdir}/bench.db", inventory, workdir)
        schema_name = f"bench_{uuid.uuid4().hex[:12]}"
        admin = schema.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'create schema "{schema_name}"'))
        try:
            _bench("postgresql", f"{PG_URL}?options=-csearch_path%3D{schema_name}", inventory, workdir)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'drop schema "{schema_name}" cascade'))
            admin.dispose()


if __name__ == "__main__":
    main()
