"""A worker's liveness file, for an orchestrator that cannot ask it over HTTP.

A worker serves no HTTP, so a container probe cannot ask it whether it is stuck. Instead its
heartbeat loop touches a file (``SHIPBOT_ALIVE_FILE``) every beat, whether or not Redis
answers, and ``shipbot worker --alive`` (an exec probe) says whether that file is fresh. A
file older than a minute means the worker's event loop has stopped turning: a restart is
the cure. Redis being away is not: the worker waits for it and keeps touching the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

FRESH_SECONDS = 60  # six missed beats (one every 10 s) before the worker counts as stuck

log = logging.getLogger(__name__)


def touch(path: Path) -> None:
    """Mark the worker alive now; a file that cannot be written is logged, never raised."""
    try:
        path.touch()
    except OSError as error:
        log.warning("could not touch the liveness file %s (%s)", path, error.strerror)


def staleness(path: Path, now: float) -> str | None:
    """None while a worker touched ``path`` in the last minute; otherwise why not."""
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return f"{path} does not exist: no worker has beaten in this container yet"
    except OSError as error:
        return f"{path} cannot be read ({error.strerror})"
    if age >= FRESH_SECONDS:
        return f"{path} was last touched {age:.0f} s ago (more than {FRESH_SECONDS} s)"
    return None
