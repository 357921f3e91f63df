"""Handing queued requests to workers: arq over Redis in production, inline in the console."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from arq.connections import ArqRedis
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

from bot.ports.notify import Handover, MetricsJob, StoredJob
from bot.store.base import translated
from bot.store.keys import Keys

log = logging.getLogger(__name__)

RUN_DEPLOY = "run_deploy"
ANNOUNCE = "announce"
RECORD_EXTERNAL = "record_external"
POST_METRICS = "post_metrics"


def queue_name(prefix: str) -> str:
    """arq's queue for this installation, so installations sharing a Redis never mix jobs."""
    return Keys(prefix).jobs()


class ArqQueue:
    def __init__(self, pool: ArqRedis, prefix: str = "shipbot") -> None:
        self.pool, self.prefix, self.key = pool, prefix, Keys(prefix)

    async def start(self, request_id: str) -> None:
        await self._enqueue(RUN_DEPLOY, request_id)

    async def announce(self, request_id: str) -> None:
        await self._enqueue(ANNOUNCE, request_id)

    async def record_external(self, project_id: int, deployment_id: int) -> None:
        await self._enqueue(RECORD_EXTERNAL, project_id, deployment_id)

    async def metrics(self, job: MetricsJob) -> None:
        await self._enqueue(POST_METRICS, *job.args())

    async def start_at(self, request_id: str, at: float) -> None:
        """A deferred run job, once per request and moment (the run checks the freeze again)."""
        when = datetime.fromtimestamp(at, UTC)
        await self._enqueue(RUN_DEPLOY, request_id, at=when, subject=f"{request_id}@{int(at)}")

    def handover(self, request_id: str) -> Handover:
        """The announce and run jobs of a new request, as arq's ``enqueue_job`` would write
        them now (its job key, expiry, queue and score; serialized by the pool's serializer).
        The store writes one of them with the request, to the Redis this pool uses."""
        now = timestamp_ms()
        return Handover(
            self._stored(ANNOUNCE, request_id, now), self._stored(RUN_DEPLOY, request_id, now)
        )

    def _stored(self, function: str, request_id: str, now: int) -> StoredJob:
        job_id = self.key.job(function, request_id)
        serializer = self.pool.job_serializer
        data = serialize_job(function, (request_id,), {}, None, now, serializer=serializer)
        return StoredJob(
            id=job_id,
            key=self.key.arq_job(job_id),
            result_key=self.key.arq_result(job_id),
            queue=self.key.jobs(),
            data=data,
            run_at_ms=now,
            expires_ms=self.pool.expires_extra_ms,
        )

    @translated
    async def _enqueue(
        self, function: str, *args: str | int, at: datetime | None = None, subject: str = ""
    ) -> None:
        subject = subject or ":".join(map(str, args))
        job = await self.pool.enqueue_job(
            function,
            *args,
            _job_id=self.key.job(function, subject),  # once per subject and kind
            _queue_name=self.key.jobs(),
            _defer_until=at,
        )
        if job is None:
            log.info("%s already has a %s job", subject, function)


Job = Callable[..., Awaitable[object]]


class InlineQueue:
    """Runs jobs in this process, after the current command has been answered."""

    def __init__(self) -> None:
        self.waiting: list[tuple[str, tuple[str, ...]]] = []
        self.jobs: dict[str, Job] = {}

    async def start(self, request_id: str) -> None:
        self.waiting.append((RUN_DEPLOY, (request_id,)))

    async def announce(self, request_id: str) -> None:
        self.waiting.append((ANNOUNCE, (request_id,)))

    async def record_external(self, project_id: int, deployment_id: int) -> None:
        """The console receives no webhooks; nothing to record."""

    async def metrics(self, job: MetricsJob) -> None:
        self.waiting.append((POST_METRICS, job.args()))

    async def start_at(self, request_id: str, at: float) -> None:
        """The console runs no clock: a request a freeze holds waits for the next command
        that starts its lane (or `/shipbot unfreeze`)."""
        log.info("%s waits for a freeze to end", request_id)

    def handover(self, request_id: str) -> None:
        """Jobs here are not stored: the caller enqueues after the record."""
        return None

    async def drain(self) -> None:
        while self.waiting:
            function, args = self.waiting.pop(0)
            await self.jobs[function](*args)
