"""A generated province larger than one write batch imports whole and idempotently."""

from __future__ import annotations

from pathlib import Path

import yaml

from netmon.inventory.files import read_files
from netmon.inventory.models import Level
from netmon.inventory.store import Store
from netmon.lab.generate import synthetic_province


def test_generated_province_imports_across_batches(store: Store, tmp_path: Path) -> None:
    doc = synthetic_province(1500)
    assert len(doc["devices"]) >= 1500
    path = tmp_path / "province.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    steps: list[int] = []
    plan = store.import_parsed(read_files([path]), profiles={"lab-v2c"}, progress=steps.append)
    total = len(doc["units"]) + len(doc["devices"]) + len(doc["links"])
    assert plan.count("create") == total
    assert sum(steps) == total
    assert max(steps) <= 1000
    snapshot = store.snapshot()
    assert len(snapshot.devices) == len(doc["devices"])
    assert {u.level for u in snapshot.units.values()} == set(Level)
    assert len({d.address for d in snapshot.devices.values()}) == len(doc["devices"])
    assert store.import_parsed(read_files([path]), profiles={"lab-v2c"}).changes == ()
