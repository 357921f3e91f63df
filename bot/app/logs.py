"""Logging set-up: one record per event, every record passed through the one scrubber.

A record's message has its control characters escaped, so text that came from outside (a
request body, a tool's output) can never forge a log line. Tracebacks of internal errors are
kept for the operator, scrubbed, and indented under their record, even when another formatter
has already rendered (and cached) the traceback.
"""

from __future__ import annotations

import logging

from bot.scrub import escaped, scrub


class ScrubbingFormatter(logging.Formatter):
    """Formats a record on one line (plus its indented traceback), without secrets."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        lines = [self.formatMessage(record)]
        if record.exc_info:  # rendered here: a cached exc_text may come unscrubbed from elsewhere
            lines.append(self.formatException(record.exc_info))
        elif record.exc_text:  # a record without its exception (e.g. unpickled)
            lines.append(_indented(scrub(record.exc_text)))
        if record.stack_info:
            lines.append(self.formatStack(record.stack_info))
        return "\n".join(lines)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escaped(scrub(super().formatMessage(record)))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return _indented(scrub(super().formatException(ei)))

    def formatStack(self, stack_info: str) -> str:
        return _indented(scrub(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + escaped(line) for line in text.splitlines())


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
