"""Logging set-up: every record, shipbot's or a library's, rendered by structlog for operators.

Two formats (``SHIPBOT_LOG_FORMAT``), one record per event:

- ``text`` (the default): ``2025-05-01T09:30:00.123Z ERROR bot.domain.deploys: deploy broke off
  request_id=d-ab12cd34 service=web-h5 environment=prod`` on one line, control characters
  spelled out so that text from outside (a request body, a tool's output) can never forge a
  line; an internal error's traceback follows, indented;
- ``json``: one JSON object per line with ``timestamp`` (ISO 8601, UTC), ``level``,
  ``logger``, ``event`` (the message), the request's ``request_id``, ``service`` and
  ``environment`` when known (bot/logcontext.py), and ``exception`` (the traceback) for errors.

Every record passes the one scrubber (bot/scrub.py): the message, each field's value and the
traceback. Records logged through ``logging.getLogger`` and through ``structlog.get_logger``
take the same path (structlog's ``ProcessorFormatter``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import EventDict, Processor, WrappedLogger

from bot.scrub import escaped, scrub

_FIRST = ("timestamp", "level", "logger", "event", "request_id", "service", "environment")
_BELOW = ("exception", "stack")  # text: indented under the record's line
_PLAIN = re.compile(r"[^\s\"'=]+")


def setup(log_format: str = "text", level: int = logging.INFO) -> None:
    """Send every record to stderr in ``log_format`` (text or json); uncaught exceptions
    and Python's warnings become records too."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)
    sys.excepthook = log_uncaught
    structlog.configure(
        processors=[
            *_ADDED,
            structlog.processors.StackInfoRenderer(),
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of one format: fields added, traceback rendered, all scrubbed."""
    renderers: dict[str, Processor] = {"text": render_text, "json": render_json}
    return ProcessorFormatter(
        foreign_pre_chain=[*_ADDED, _lost_traceback],
        processors=[
            structlog.processors.format_exc_info,
            ProcessorFormatter.remove_processors_meta,
            scrubbed,
            renderers[log_format],
        ],
    )


def _timestamp(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """When the record was made, in ISO 8601 UTC to the millisecond."""
    record = event.get("_record")
    moment = datetime.fromtimestamp(record.created, UTC) if record else datetime.now(UTC)
    event["timestamp"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return event


_ADDED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    _timestamp,
]


def _lost_traceback(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """A stdlib record's stack, and the traceback of one without its exception (unpickled)."""
    record = event["_record"]
    if record.exc_text and "exc_info" not in event:
        event["exception"] = record.exc_text
    if stack := event.pop("stack_info", None):
        event["stack"] = stack
    return event


def scrubbed(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Every value of the record through the one scrubber; values become JSON's kinds."""
    return {key: _clean(value) for key, value in event.items()}


def _clean(value: object) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item) for item in value]
    return scrub(str(value))


def render_json(_: WrappedLogger, __: str, event: EventDict) -> str:
    """One JSON object on one line (json.dumps escapes every control and non-ASCII char)."""
    return json.dumps(_ordered(event))


def render_text(_: WrappedLogger, __: str, event: EventDict) -> str:
    """``timestamp LEVEL logger: message key=value…`` on one line, then indented tracebacks."""
    event = _ordered(event)
    time, level = event.pop("timestamp", "-"), str(event.pop("level", "-")).upper()
    head = f"{time} {level} {event.pop('logger', '-')}: {event.pop('event', '')}"
    below = [str(text) for text in (event.pop(key, None) for key in _BELOW) if text]
    fields = "".join(f" {key}={_text_value(value)}" for key, value in event.items())
    return "\n".join([escaped(head + fields), *map(_indented, below)])


def _ordered(event: EventDict) -> dict[str, Any]:
    return {key: event.pop(key) for key in _FIRST if key in event} | dict(event)


def _text_value(value: object) -> str:
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _indented(text: str) -> str:
    return "\n".join("    " + escaped(line) for line in text.splitlines())


def log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """sys.excepthook: an exception that ends the program is logged (scrubbed), not printed."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, traceback)
        return
    logging.getLogger("shipbot").critical(
        "uncaught %s; stopping", kind.__name__, exc_info=(kind, error, traceback)
    )
