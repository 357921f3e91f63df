"""The ``--alive`` checks of `shipbot serve`, `socket` and `worker`, for a container's health
check or exec probe: exit 0, or 1 with one line saying why. Each reads only its own setting
and connects to nothing outside its container.

- ``serve --alive`` asks ``GET /livez`` on 127.0.0.1 (the process answers; Redis is not asked).
- ``socket --alive`` and ``worker --alive`` ask whether the liveness file is fresh
  (bot/app/liveness.py).
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.app.liveness import staleness

ASK_SECONDS = 5
PROCESS = {"socket": "socket-mode bot", "worker": "worker"}  # who touches the file


def serving(port: int) -> int:
    """``serve --alive``: whether ``GET /livez`` on ``port`` answers 200."""
    url = f"http://127.0.0.1:{port}/livez"
    try:
        with urllib.request.urlopen(url, timeout=ASK_SECONDS) as answer:
            problem = None if answer.status == 200 else f"{url} answered {answer.status}"
    except urllib.error.HTTPError as error:
        problem = f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        problem = f"{url} did not answer ({reason})"
    return said("serve", problem)


def touched(command: str, path: Path) -> int:
    """``socket --alive`` or ``worker --alive``: whether ``path`` was touched in the last
    minute."""
    return said(command, staleness(path, time.time(), PROCESS[command]))


def said(command: str, problem: str | None) -> int:
    """0 when there is no problem; else 1, the problem on stderr."""
    if problem:
        print(f"shipbot {command}: not alive: {problem}", file=sys.stderr)
    return 1 if problem else 0
