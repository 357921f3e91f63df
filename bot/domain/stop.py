"""The one way a run learns that someone pressed Stop.

One watcher per run waits for the stop (see ``Store.wait_stop``). Work on a target is raced
against it: Stop first cancels the work (letting it clean up, e.g. cancel a pipeline) and
raises :class:`Stopped`. Before each target the run asks :meth:`StopWatch.asked`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from bot.domain.policy import mention
from bot.ports.deployer import DeployFailed
from bot.ports.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class Stopped(DeployFailed):
    """Someone pressed Stop while a target was being deployed or checked (which may have
    changed it)."""


class StopWatch:
    def __init__(self, store: Store, request_id: str) -> None:
        self._store, self._request_id = store, request_id
        self._watch = asyncio.ensure_future(store.wait_stop(request_id))
        self._watch.add_done_callback(self._log_broken)

    @property
    def who(self) -> str:
        """Who pressed Stop, as the watcher has seen; "" while nobody has."""
        return self._seen()

    async def asked(self) -> str:
        """Who pressed Stop, or "" (the watcher's answer, else the store's now)."""
        return self._seen() or await self._store.stopped_by(self._request_id)

    async def race(self, work: Awaitable[T]) -> T:
        """``work``'s result, unless Stop is pressed first: then ``work`` is cancelled and
        awaited (so it can clean up), and Stopped is raised."""
        run = asyncio.ensure_future(work)
        try:
            await asyncio.wait({run, self._watch}, return_when=asyncio.FIRST_COMPLETED)
            if run.done() or not self._seen():  # done first, or the watcher broke: run on
                return await run
        finally:
            if not run.done():
                run.cancel()
                await asyncio.wait({run})
        if not run.cancelled():
            run.exception()  # retrieved: it ended on our cancel, and Stopped says why
        raise Stopped(f"stopped by {mention(self._seen())}")

    def close(self) -> None:
        self._watch.cancel()

    def _seen(self) -> str:
        watch = self._watch
        done = watch.done() and not watch.cancelled() and watch.exception() is None
        return watch.result() if done else ""

    def _log_broken(self, watch: asyncio.Future[str]) -> None:
        """The watcher broke (a bug): the run goes on without Stop."""
        if not watch.cancelled() and (error := watch.exception()) is not None:
            log.error("stop watcher of %s broke", self._request_id, exc_info=error)
