"""A worker's heartbeat: it tells Redis it is alive every few seconds, so the bot can tell
people when no worker is running (queued deploys would wait for one)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from bot.app import liveness
from bot.ports.store import Store, StoreUnavailable
from bot.store.signals import HEARTBEAT_SECONDS

log = logging.getLogger(__name__)


async def keep_heartbeat(
    store: Store, worker: str, jobs: Callable[[], int] = lambda: 0, alive_file: Path | None = None
) -> None:
    """Beat until cancelled, saying how many ``jobs`` run; Redis being away only skips beats.
    Each beat also touches ``alive_file``, Redis or not (see bot/app/liveness.py)."""
    while True:
        if alive_file is not None:
            liveness.touch(alive_file)
        try:
            await store.heartbeat(worker, jobs())
        except StoreUnavailable:
            log.warning("could not send %s's heartbeat; Redis unavailable", worker)
        except Exception:  # a bug must not silence the heartbeat for good
            log.exception("could not send %s's heartbeat", worker)
        await asyncio.sleep(HEARTBEAT_SECONDS)
