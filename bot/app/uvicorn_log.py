"""uvicorn's own log lines under `shipbot serve`: its warnings, and one line saying where it
listens, once it does."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from urllib.parse import urlsplit

log = logging.getLogger("bot.app.server")  # the line operators know: "shipbot serve: listening on"
_UVICORN_LISTENING = re.compile(r"Uvicorn running on (\S+)")


class _OnlyListening(logging.Filter):
    """uvicorn's own lines reduced to its warnings; its "running on" line, logged once the
    port is bound, becomes shipbot's one line saying where it listens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if found := _UVICORN_LISTENING.match(record.getMessage()):
            threading.Thread(target=_announce, args=(found.group(1),), daemon=True).start()
        return False


def quiet_uvicorn() -> None:
    """Run uvicorn at log level info (it says where it listens at info) with this filter."""
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _OnlyListening) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_OnlyListening())


def _announce(url: str, timeout: float = 60.0) -> None:
    """Log "listening on ``url``" once a connection there succeeds: with --workers N the
    parent binds the port, and it accepts once the first HTTP process has started."""
    address = urlsplit(url)
    loopback = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 (where to connect to it)
    host = loopback.get(address.hostname or "", address.hostname)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, address.port or 80), timeout=1).close()
        except OSError:
            time.sleep(0.05)
            continue
        log.info("shipbot serve: listening on %s", url)
        return
