"""Poll targets are built once per inventory, and again after a reload (issue 12)."""

from __future__ import annotations

from netmon.monitor.rounds import TargetList, targets_of
from tests.unit.test_exposition import _live


def test_targets_are_built_again_only_for_another_inventory() -> None:
    live, _ = _live(devices=3)
    current = {"live": live}
    targets = TargetList(lambda: current["live"].inventory)
    first = targets()
    assert first == targets_of(live.inventory)
    assert targets() is first  # the same inventory: not built again at the next round
    current["live"], _ = _live(devices=5)  # a reload: a new inventory
    reloaded = targets()
    assert [t.device for t in reloaded] == [t.device for t in targets_of(current["live"].inventory)]
    assert len(reloaded) == 5
