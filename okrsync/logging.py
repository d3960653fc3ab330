"""Structured logging: JSON lines for machines, a readable console for people.

One handler on the root logger renders every event: okrsync's own (structlog)
and the standard library's records from urllib3, APScheduler and the like. Each
event is a stable snake_case dotted name (``sync.pull.completed``) with bound
context (``workspace``, ``connector``, ``object``, ``run_id``). Secrets are
masked before anything is written.
"""

from __future__ import annotations

import logging
import sys
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TextIO

import structlog

from okrsync.kit import MASK, MIN_SECRET_LENGTH, Redactor

if TYPE_CHECKING:
    from collections.abc import Iterable

    from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["HANDLER_NAME", "MASK", "MIN_SECRET_LENGTH", "configure_logging", "get_logger"]

HANDLER_NAME = "okrsync"
"""Name of the handler :func:`configure_logging` puts on the root logger."""

_LEVELS = MappingProxyType(
    {
        "debug": logging.DEBUG,
        "info": logging.INFO,
        "warning": logging.WARNING,
        "error": logging.ERROR,
    }
)
# Keys whose values are not text to scrub: structlog and logging internals.
_UNTOUCHED = frozenset({"exc_info", "_record", "_from_structlog"})


class _RedactProcessor:
    """The structlog processor that masks secrets in every value of an event dict."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, _logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        value = self.redactor.value
        return {k: v if k in _UNTOUCHED else value(v) for k, v in event_dict.items()}


class _RedactedRenderer:
    """Runs the final renderer, then masks secrets in its output.

    This catches what the event dict pass cannot see: tracebacks the console
    renderer formats itself, and ``repr`` of arbitrary objects.
    """

    def __init__(self, renderer: Processor, redactor: Redactor) -> None:
        self.renderer = renderer
        self.redactor = redactor

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        return self.redactor.text(str(self.renderer(logger, name, event_dict)))


LIBRARY_LEVELS = MappingProxyType({"apscheduler": logging.WARNING})
"""Libraries whose own info lines repeat what okrsync logs: quieter unless debugging."""


class _LibraryNoise(logging.Filter):
    """Drops urllib3's "Retrying (…)" warnings: each connector logs its retries as events."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("urllib3") and str(record.msg).startswith("Retrying ("))


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def configure_logging(
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    *,
    stream: TextIO | None = None,
    redact: Iterable[str] = (),
) -> None:
    """Set up structlog and the standard library's logging to render through one handler.

    Calling it again replaces the previous set-up (no handler is added twice).

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error``, for every logger;
            libraries that repeat okrsync's own events (the scheduler's info
            lines, urllib3's retry warnings) are heard only at ``debug``.
        fmt: ``json`` for JSON lines, ``console`` for structlog's console
            renderer, ``auto`` for JSON unless ``stream`` is a terminal.
        stream: Where to write (default ``sys.stderr``).
        redact: Secret values to mask wherever they appear (values shorter than
            4 characters are ignored); ``SecretStr`` values are always masked.

    Raises:
        ValueError: ``level`` or ``fmt`` is not one of the names above.
    """
    out = sys.stderr if stream is None else stream
    numeric = _LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"expected a log level of {', '.join(_LEVELS)}, got {level!r}")
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"expected a log format of auto, json or console, got {fmt!r}")
    json_lines = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    redactor = Redactor(redact)

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Processor
    finishing: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json_lines:
        # Tracebacks become text before redaction, so secrets in them are masked.
        finishing.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=_is_tty(out), exception_formatter=structlog.dev.plain_traceback
        )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[*finishing, _RedactProcessor(redactor), _RedactedRenderer(renderer, redactor)],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    if numeric > logging.DEBUG:
        handler.addFilter(_LibraryNoise())
    for name, quieter in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(max(numeric, quieter) if numeric > logging.DEBUG else 0)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so a later configure_logging() (or structlog.testing.capture_logs())
        # also applies to loggers made at import time.
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None, **context: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger, optionally named and with ``context`` bound.

    Args:
        name: The logger's name, usually ``__name__``; guessed from the caller when ``None``.
        **context: Key-value pairs added to every event (``workspace=…``, ``connector=…``).
    """
    if name is None:
        return structlog.stdlib.get_logger(**context)
    return structlog.stdlib.get_logger(name, **context)
