"""Structured JSON logs (structlog) with the request id and organisation, and a last-line
defence that masks anything shaped like a resident registration number.

House rule: no personal data in logs. Code never logs subjects; the mask catches mistakes,
including in third-party log lines (uvicorn, SQLAlchemy) routed through the same processors.
"""

from __future__ import annotations

import logging
import sys
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


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Configure structlog and route the standard library's loggers through it."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_rrns,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
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
