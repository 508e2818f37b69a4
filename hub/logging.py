"""Structured JSON logs (structlog) with the request id and organisation, and a last-line
defence that masks anything shaped like a resident registration number.

House rule: no personal data in logs. Code never logs subjects; the mask catches mistakes,
including in third-party log lines (uvicorn, SQLAlchemy) routed through the same processors.
Logged exceptions keep their types and frames but not their messages, which can quote data.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

from schemas.identifiers import RRN_PATTERN

MASK = "[RRN]"


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return RRN_PATTERN.sub(MASK, value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_rrns(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: replace every RRN-shaped digit run, in any field, with [RRN]."""
    return {key: _mask(value) for key, value in event_dict.items()}


def _exception(info: Any) -> BaseException | None:
    if info is True:
        return sys.exc_info()[1]
    if isinstance(info, tuple):
        return info[1]  # type: ignore[no-any-return]
    return info if isinstance(info, BaseException) else None


def _without_messages(error: BaseException) -> str:
    """A traceback of `error` and the exceptions it came from, with their types and frames
    but not their messages: a message may quote data (a driver's DETAIL line repeats the row it
    refused, a KeyError its key)."""
    parts: list[str] = []
    current: traceback.TracebackException | None = traceback.TracebackException.from_exception(
        error, capture_locals=False
    )
    while current is not None:
        frames = "".join(current.stack.format())
        kind = current.exc_type
        name = "?" if kind is None else f"{kind.__module__}.{kind.__qualname__}"
        parts.append(f"Traceback (most recent call last):\n{frames}{name} (message withheld)")
        if current.__cause__ is not None:
            parts.append("\nThe above exception was the direct cause of the following:\n")
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            parts.append("\nDuring handling of the above exception, another occurred:\n")
            current = current.__context__
        else:
            current = None
    return "\n".join(reversed(parts))


def exception_without_messages(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """In place of structlog's format_exc_info: the exception's types and frames only."""
    info = event_dict.pop("exc_info", None)
    error = _exception(info) if info else None
    if error is not None:
        event_dict["exception"] = _without_messages(error)
    return event_dict


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Configure structlog and route the standard library's loggers through it."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        exception_without_messages,
        mask_rrns,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        # filter_by_level first: an event below the level is dropped before the chain runs
        # (every request logs one at INFO; with HUB_LOG_LEVEL=WARNING it cost ~2% of a verify).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # uvicorn's access log repeats what hub.http logs, with less care: keep ours only.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
