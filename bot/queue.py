"""Handing queued requests to workers: arq over Redis in production, inline in the console."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from bot.store import StoreUnavailable

log = logging.getLogger(__name__)

RUN_DEPLOY = "run_deploy"


def job_id(request_id: str) -> str:
    """One job per request, so a request enqueued twice still runs once."""
    return f"shipbot:deploy:{request_id}"


class ArqQueue:
    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    async def start(self, request_id: str) -> None:
        try:
            job = await self.pool.enqueue_job(RUN_DEPLOY, request_id, _job_id=job_id(request_id))
        except RedisError as error:
            raise StoreUnavailable(type(error).__name__) from None
        if job is None:
            log.info("request %s already has a job", request_id)


class InlineQueue:
    """Runs jobs in this process, after the current command has been answered."""

    def __init__(self) -> None:
        self.waiting: list[str] = []
        self.run: Callable[[str], Awaitable[object]] | None = None

    async def start(self, request_id: str) -> None:
        self.waiting.append(request_id)

    async def drain(self) -> None:
        assert self.run is not None, "InlineQueue.run must be set before draining"
        while self.waiting:
            await self.run(self.waiting.pop(0))
