"""A liveness file, for an orchestrator that cannot ask a process over HTTP.

A worker, or the bot over Socket Mode, serves no HTTP, so a container probe cannot ask it
whether it is stuck. Instead it touches a file (``SHIPBOT_ALIVE_FILE``) every 10 seconds,
whether or not Redis (or Slack) answers: the worker from its heartbeat loop, `shipbot socket`
from ``keep_touching``. ``shipbot worker --alive`` and ``shipbot socket --alive`` (exec
probes) say whether that file is fresh. A file older than a minute means the process's event
loop has stopped turning: a restart is the cure. Redis being away is not: the process waits
for it and keeps touching the file.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.store.signals import HEARTBEAT_SECONDS

FRESH_SECONDS = 60  # six missed beats (one every 10 s) before the process counts as stuck

log = logging.getLogger(__name__)


def touch(path: Path) -> None:
    """Mark the process alive now; a file that cannot be written is logged, never raised."""
    try:
        path.touch()
    except OSError as error:
        log.warning("could not touch the liveness file %s (%s)", path, error.strerror)


async def keep_touching(path: Path) -> None:
    """Touch ``path`` every beat until cancelled (a process with no heartbeat of its own)."""
    while True:
        touch(path)
        await asyncio.sleep(HEARTBEAT_SECONDS)


def staleness(path: Path, now: float, process: str = "worker") -> str | None:
    """None while a ``process`` touched ``path`` in the last minute; otherwise why not."""
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return f"{path} does not exist: no {process} has beaten in this container yet"
    except OSError as error:
        return f"{path} cannot be read ({error.strerror})"
    if age >= FRESH_SECONDS:
        return f"{path} was last touched {age:.0f} s ago (more than {FRESH_SECONDS} s)"
    return None
