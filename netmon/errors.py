"""The netmon error tree; third-party errors are translated into it at the edge.

NetmonError                  root: the CLI maps it to exit code 1
├── InputError               bad input from the user: exit code 2
│   ├── ConfigError          config file or NETMON_* override (file, line, key)
│   ├── InventoryError       inventory files: every issue found, each with file:line:field
│   ├── NotFoundError        a named unit, device or link does not exist
│   └── PeriodError          a reporting period that cannot be parsed or has not begun
├── StoreError               the database failed or is not migrated (temporary: retry)
│   └── StoreDataError       an item that can never be stored (too long, NUL byte, constraint)
├── FencedError              a poller's write refused: its lease lapsed or its view of the
│                            other pollers is out of date (issue 19; never retried as it is)
└── PollError                a poller cannot work at all (e.g. no ICMP socket); a device
                             that does not answer is a Sample, never a PollError
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "FencedError",
    "InputError",
    "InventoryError",
    "Issue",
    "NetmonError",
    "NotFoundError",
    "PeriodError",
    "PollError",
    "StoreDataError",
    "StoreError",
    "validation_message",
]


class NetmonError(Exception):
    """Root of every error netmon raises on purpose."""

    exit_code = 1


class FencedError(NetmonError):
    """A state write refused by the lease check (`netmon.cluster.membership.fence`), in its own transaction.

    `lease_lost` True: this poller's lease lapsed (or another took its epoch): it must drop its
    objects and join again. False: the live pollers changed since ownership was last computed:
    recompute it, keep only the items still owned, and write again.
    """

    def __init__(self, message: str, *, lease_lost: bool) -> None:
        super().__init__(message)
        self.lease_lost = lease_lost


class InputError(NetmonError):
    """The user's input (config, files, arguments) is wrong."""

    exit_code = 2


@dataclass(frozen=True, kw_only=True)
class Issue:
    """One problem in an input file, located as precisely as the source allows."""

    source: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"


#: pydantic's `field_type` of a length error on a collection (anything else is text here).
_COLLECTIONS = frozenset({"List", "Dictionary", "Set", "Frozenset", "Tuple"})


def validation_message(err: Mapping[str, Any], *, key: str = "key") -> str:
    """Say one pydantic error (`ValidationError.errors()` item) in a file reader's words.

    *key* names what a file holds: "key" in the config, "field" in the inventory. Length errors
    are said plainly ("must not be empty", not "Value should have at least 1 item after
    validation"), so are dates that do not parse ("must be a date written YYYY-MM-DD", not
    "invalid character in year") and a YAML number or yes/no where text belongs; a validator's
    own message loses pydantic's "Value error, " prefix. The input's value is never repeated.
    """
    kind, ctx = err["type"], err.get("ctx") or {}
    plain = {"extra_forbidden": f"unknown {key}", "missing": f"required {key} is missing"}
    plain.update(dict.fromkeys(_DATE_ERRORS, "must be a date written YYYY-MM-DD, e.g. 2025-07-01"))
    if kind == "string_type" and isinstance(err.get("input"), int | float | bool):
        return "must be text: in YAML, quote a value such as 0123, 1.10 or ON that YAML reads as a number or yes/no"
    if kind in ("too_short", "string_too_short", "too_long", "string_too_long"):
        short = "short" in kind
        limit = ctx.get("min_length" if short else "max_length")
        if isinstance(limit, int):
            if short and limit == 1:
                return "must not be empty"
            unit = "item" if ctx.get("field_type") in _COLLECTIONS else "character"
            return f"must have at {'least' if short else 'most'} {limit} {unit}{'s' if limit != 1 else ''}"
    return plain.get(kind) or str(err["msg"]).removeprefix("Value error, ")


#: pydantic's error types for a date it could not read (01/07/2025, 2025-7-1, 45839 from a sheet).
_DATE_ERRORS = frozenset(("date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"))


class _IssuesError(InputError):
    """An input error that carries every issue found, not only the first.

    The issues are listed file by file (in the order the files first appear), each file's by line:
    the order of an editor, not of the checks that found them.
    """

    what = "input"

    def __init__(self, issues: Sequence[Issue]) -> None:
        sources: dict[str, int] = {}
        for issue in issues:
            sources.setdefault(issue.source, len(sources))
        self.issues = tuple(
            sorted(issues, key=lambda issue: (sources[issue.source], -1 if issue.line is None else issue.line))
        )
        count = len(self.issues)
        head = f"{count} {self.what} error{'s' if count != 1 else ''}"
        super().__init__(head + ":\n" + "\n".join(f"  {issue}" for issue in self.issues))


class ConfigError(_IssuesError):
    """The configuration is invalid: unknown key, wrong type, bad YAML."""

    what = "config"


class InventoryError(_IssuesError):
    """The inventory files are invalid; nothing was written."""

    what = "inventory"


class StoreError(NetmonError):
    """The inventory database could not be read or written; retrying may help (connection, lock, timeout)."""


class StoreDataError(StoreError):
    """An item the database refuses for what it is (value too long, NUL byte, constraint): never retry it."""


class NotFoundError(InputError):
    """A unit, device or link named by the user does not exist."""


class PeriodError(InputError):
    """A reporting period (2026, 2026-Q3, 2026-09, live) is malformed or lies in the future."""


class PollError(NetmonError):
    """A poller cannot run at all on this host; the message says how to fix it."""
