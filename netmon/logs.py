"""Logging setup (structlog): JSON lines when not on a terminal, readable on a terminal.

Commands log to stderr (stdout carries their output); `netmon run` logs to stdout, as a
service under systemd should. Standard-library loggers (APScheduler, aiohttp) go through the
same renderer, so every line has the same shape. Context bound with structlog.contextvars
(job, device) is added to every line of the task that bound it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog

from netmon.config import LoggingConfig

__all__ = ["setup_logging"]


class _CurrentStream(logging.StreamHandler[TextIO]):
    """A handler that writes to whatever sys.stdout/sys.stderr is now (tests replace them)."""

    def __init__(self, name: str) -> None:
        self._which = name
        super().__init__()

    @property
    def stream(self) -> TextIO:
        current: TextIO = getattr(sys, self._which)
        return current

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def setup_logging(settings: LoggingConfig, stream: TextIO | None = None, *, service: bool = False) -> None:
    """Configure structlog and the standard library's loggers; lines go to *stream*, stdout for a service, or stderr."""
    name = "stdout" if service else "stderr"
    target: TextIO = stream or getattr(sys, name)
    use_json = settings.format == "json" or (settings.format == "auto" and not target.isatty())
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        # plain tracebacks: rich ones print local variables, and a local may hold a community or key
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]

    def printer(*_args: Any) -> structlog.PrintLogger:
        return structlog.PrintLogger(stream or getattr(sys, name))

    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=printer,
        cache_logger_on_first_use=False,
    )
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _CurrentStream(name)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            # exc_info of a standard-library record becomes the formatted traceback, not its repr (issue 15)
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    logging.basicConfig(level=max(level, logging.WARNING), handlers=[handler], force=True)
