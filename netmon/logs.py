"""Logging setup (structlog): JSON lines when not on a terminal, readable on a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from netmon.config import LoggingConfig

__all__ = ["setup_logging"]


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """A handler that writes to whatever sys.stderr is now, not to the one it was made with."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def setup_logging(settings: LoggingConfig, stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library's root logger; lines go to *stream* or the current stderr."""
    target = stream or sys.stderr
    use_json = settings.format == "json" or (settings.format == "auto" and not target.isatty())
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        # plain tracebacks: rich ones print local variables, and a local may hold a community or key
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
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
        logger_factory=structlog.PrintLoggerFactory(stream) if stream is not None else _stderr_logger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    logging.basicConfig(level=max(level, logging.WARNING), handlers=[handler], force=True)
