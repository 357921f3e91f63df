"""Handing queued requests to workers: arq over Redis in production, inline in the console."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from bot.store import StoreUnavailable

log = logging.getLogger(__name__)

RUN_DEPLOY = "run_deploy"
ANNOUNCE = "announce"


def job_id(function: str, request_id: str) -> str:
    """One job of a kind per request, so a request enqueued twice still runs once."""
    return f"shipbot:{function}:{request_id}"


class ArqQueue:
    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def start(self, request_id: str) -> None:
        await self._enqueue(RUN_DEPLOY, request_id)

    async def announce(self, request_id: str) -> None:
        await self._enqueue(ANNOUNCE, request_id)

    async def _enqueue(self, function: str, request_id: str) -> None:
        try:
            job = await self.pool.enqueue_job(
                function, request_id, _job_id=job_id(function, request_id)
            )
        except RedisError as error:
            raise StoreUnavailable(type(error).__name__) from None
        if job is None:
            log.info("request %s already has a %s job", request_id, function)


Job = Callable[[str], Awaitable[object]]


class InlineQueue:
    """Runs jobs in this process, after the current command has been answered."""

    def __init__(self) -> None:
        self.waiting: list[tuple[str, str]] = []
        self.jobs: dict[str, Job] = {}

    async def start(self, request_id: str) -> None:
        self.waiting.append((RUN_DEPLOY, request_id))

    async def announce(self, request_id: str) -> None:
        self.waiting.append((ANNOUNCE, request_id))

    async def drain(self) -> None:
        while self.waiting:
            function, request_id = self.waiting.pop(0)
            await self.jobs[function](request_id)
