"""Logging follows the current stderr, so a closed capture stream cannot break a later log call."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from netmon.config import LoggingConfig
from netmon.logs import setup_logging


def test_log_lines_go_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging(LoggingConfig(format="json"))
    first.close()  # e.g. a CLI run's captured stream, gone afterwards
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    structlog.get_logger("t").warning("round overran", poll_class="ping")
    logging.getLogger("apscheduler").warning("from the standard library")
    lines = second.getvalue().splitlines()
    assert json.loads(lines[0])["event"] == "round overran"
    assert json.loads(lines[0])["poll_class"] == "ping"
    assert "from the standard library" in lines[1]


@pytest.mark.parametrize("source", ["structlog", "stdlib"])
def test_json_logs_carry_the_formatted_traceback(source: str) -> None:
    out = io.StringIO()
    setup_logging(LoggingConfig(format="json"), stream=out)
    try:
        raise ZeroDivisionError("division by zero")  # noqa: TRY301 (a real traceback to log)
    except ZeroDivisionError:
        if source == "structlog":
            structlog.get_logger("t").exception("reload failed")
        else:
            logging.getLogger("asyncio").error("Task exception was never retrieved", exc_info=True)
    line = json.loads(out.getvalue().splitlines()[0])
    assert "exc_info" not in line  # was ["<class ...>", "...", "<traceback object at 0x...>"]
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("ZeroDivisionError: division by zero")
