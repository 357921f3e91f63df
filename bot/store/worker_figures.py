"""The workers' own figures in Redis, which GET /metrics reads from any replica (workers serve
no HTTP): the jobs they run (each worker's count, written with its heartbeat and as each job
ends), how long jobs took by function and outcome, and the lease renewals by outcome.

``workers:figures`` holds ``job|<function>|<outcome>|<i>`` bucket counts with
``job_sum|<function>|<outcome>``, and ``renewals|<outcome>`` counts. Each job's end is one
round trip (a MULTI pipeline); each renewal is counted by the renewal script itself.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from bot.ports.metrics import JOB_BOUNDS, Histogram, WorkerFigures
from bot.ports.store import StoreUnavailable
from bot.store import scripts
from bot.store.base import StoreBase, translated
from bot.store.signals import WORKER_GONE_AFTER


class WorkerFiguresStore(StoreBase):
    unreached_renewals = 0  # renewals this process could not send; counted by the next one

    async def renew_lease(self, request_id: str, worker: str) -> bool:
        """Extend the worker's lease; False when the request is no longer its to run. A
        renewal that Redis does not answer is counted (as redis_unavailable) with the next."""
        unreached = self.unreached_renewals
        try:
            held = await self._renew(request_id, worker, unreached)
        except StoreUnavailable:
            self.unreached_renewals += 1
            raise
        self.unreached_renewals -= unreached
        return held

    @translated
    async def _renew(self, request_id: str, worker: str, unreached: int) -> bool:
        keys = {
            "req": self.key.req(request_id),
            "lease": self.key.lease(request_id),
            "figures": self.key.worker_figures(),
        }
        args = {"worker": worker, "lease_seconds": self.lease_seconds, "unreached": unreached}
        return bool(await self.scripts[scripts.RENEW.name](keys, args) == "held")

    @translated
    async def record_job(
        self, worker: str, function: str, outcome: str, seconds: float, running: int
    ) -> None:
        """A job of ``function`` ended with ``outcome`` after ``seconds``; ``worker`` now runs
        ``running`` jobs."""
        labels = f"{function}|{outcome}"
        bucket = bisect.bisect_left(JOB_BOUNDS, seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.key.worker_figures(), f"job|{labels}|{bucket}", 1)
            pipe.hincrbyfloat(self.key.worker_figures(), f"job_sum|{labels}", seconds)
            pipe.hset(self.key.worker_jobs(), worker, str(running))
            await pipe.execute()

    @translated
    async def worker_figures(self) -> WorkerFigures:
        since = await self._now() - WORKER_GONE_AFTER
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(self.key.workers(), since, "+inf")
            pipe.hgetall(self.key.worker_jobs())
            pipe.hgetall(self.key.worker_figures())
            alive, jobs, raw = await pipe.execute()
        return figures(sum(int(jobs.get(name, 0)) for name in alive), raw)


def figures(running: int, raw: dict[str, str]) -> WorkerFigures:
    """The figures from ``workers:figures``' fields (unknown fields are skipped)."""
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    sums: dict[tuple[str, str], float] = {}
    renewals: dict[str, int] = {}
    for field, value in raw.items():
        name, *labels = field.split("|")
        if name == "job" and len(labels) == 3:
            counts[(labels[0], labels[1])][int(labels[2])] = int(value)
        elif name == "job_sum" and len(labels) == 2:
            sums[(labels[0], labels[1])] = float(value)
        elif name == "renewals" and len(labels) == 1:
            renewals[labels[0]] = int(value)
    durations = {
        where: Histogram(
            JOB_BOUNDS,
            tuple(counts[where].get(i, 0) for i in range(len(JOB_BOUNDS) + 1)),
            sums.get(where, 0.0),
        )
        for where in {*counts, *sums}
    }
    return WorkerFigures(running, durations, renewals)
