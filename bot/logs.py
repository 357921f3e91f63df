"""Logging set-up: one line per event, and nothing that looks like a secret ever written."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(xox[abposr]-|xapp-|glpat-)[A-Za-z0-9-]+|(?i:bearer\s+)[^\s'\"]+")


class Redact(logging.Filter):
    """Masks tokens and bearer credentials, and replaces stack traces by the error's type."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _SECRET.sub("[redacted]", record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            message += f" ({record.exc_info[0].__name__})"
        record.msg, record.args = message, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact())
    logging.basicConfig(level=level, handlers=[handler], force=True)
