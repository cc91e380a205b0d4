"""Indicator export formats, apart from the renderers so that the CLI's help stays light."""

from __future__ import annotations

import enum
from pathlib import Path

__all__ = ["Format"]


class Format(enum.StrEnum):
    """Export formats."""

    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"

    @classmethod
    def of(cls, path: Path) -> Format | None:
        """Return the format a file name's suffix implies, if any."""
        try:
            return cls(path.suffix.lower().lstrip("."))
        except ValueError:
            return None
