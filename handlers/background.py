"""Work that follows an ack (telling the clicker, refreshing the card), run on the event loop
without delaying Slack's answer. Nothing is lost silently: Redis being down is logged in a line,
any other error (a bug) with its traceback, scrubbed by the log formatter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    async def drain(self) -> None:
        """Wait until all follow-up work, including work it started, has finished."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if task.cancelled() or (error := task.exception()) is None:
            return
        if isinstance(error, StoreUnavailable):
            log.warning("follow-up work failed: Redis unavailable (%s)", error)
        else:
            log.error("follow-up work failed", exc_info=error)
