"""Compatibility re-exports (one release): the kernel moved to `netmon.kernel`, samples to `netmon.pollers.samples`.

New code imports from those modules; this one keeps `from netmon.pollers.base import ...` working
for branches written before the move.
"""

from __future__ import annotations

from netmon.kernel import Sample, Status, Target, ValueObject, utcnow
from netmon.pollers.samples import HostSample, InterfaceRow, InterfacesSample, PingSample, StorageRow, SystemSample

__all__ = [
    "HostSample",
    "InterfaceRow",
    "InterfacesSample",
    "PingSample",
    "Sample",
    "Status",
    "StorageRow",
    "SystemSample",
    "Target",
    "ValueObject",
    "utcnow",
]
