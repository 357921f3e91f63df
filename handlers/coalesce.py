"""At most one send per key every ``interval`` seconds; the last state always gets through."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

Send = Callable[[], Awaitable[None]]
log = logging.getLogger(__name__)


class Coalescer:
    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}

    async def submit(self, key: str, send: Send, *, final: bool = False) -> None:
        """Send now if the key is quiet, later if not; ``final`` waits its turn and then sends."""
        wait = self._last.get(key, 0.0) + self.interval - time.monotonic()
        if final:
            await self._cancel(key)
            await asyncio.sleep(max(wait, 0.0))
            await send()
            self._last.pop(key, None)  # nothing follows a final state: forget the key
        elif wait <= 0 and key not in self._pending:
            await self._send(key, send)
        elif key not in self._pending:
            self._pending[key] = asyncio.create_task(self._later(key, send, wait))

    async def _later(self, key: str, send: Send, wait: float) -> None:
        await asyncio.sleep(wait)
        self._pending.pop(key, None)
        try:
            await self._send(key, send)
        except Exception:  # nobody awaits this task: say what went wrong, and where, here
            log.exception("delayed card update of %s failed", key)

    async def _send(self, key: str, send: Send) -> None:
        self._last[key] = time.monotonic()
        await send()

    async def _cancel(self, key: str) -> None:
        self.drop(key)

    def drop(self, key: str) -> None:
        """Forget the send waiting for ``key``, if any (a later, final one replaces it)."""
        task = self._pending.pop(key, None)
        if task is not None:
            task.cancel()
