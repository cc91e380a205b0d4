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
