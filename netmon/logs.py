"""Logging setup (structlog): JSON lines when not on a terminal, readable on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

from netmon.config import LoggingConfig

__all__ = ["setup_logging"]


def setup_logging(settings: LoggingConfig, stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library's root logger once per process."""
    stream = stream or sys.stderr
    use_json = settings.format == "json" or (settings.format == "auto" and not stream.isatty())
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(level, logging.WARNING), stream=stream, force=True)
