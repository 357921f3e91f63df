"""Logging set-up: one line per event, and nothing that looks like a secret ever written."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(xox[abposr]-|xapp-|glpat-)[A-Za-z0-9-]+|(?i:bearer\s+)[^\s'\"]+")


class Redact(logging.Filter):
    """Masks Slack and GitLab tokens and bearer credentials in any log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRET.sub("[redacted]", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact())
    logging.basicConfig(level=level, handlers=[handler], force=True)
