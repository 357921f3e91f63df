"""The workers' own figures in a real Redis: jobs running (from heartbeats and job ends), job
durations by function and outcome, lease renewals by outcome; and how Prometheus shows them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from arq import Retry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bot.app.job_figures import JobFigures
from bot.app.prometheus import exposition
from bot.ports.metrics import JOB_BOUNDS, Histogram
from bot.store.requests import RedisStore, StoreUnavailable, connect
from tests.fakes import RedisServer
from tests.test_prometheus import EMPTY
from tests.test_store import request

EMPTY_COUNTS = (0,) * (len(JOB_BOUNDS) + 1)


def counts(*at: int) -> tuple[int, ...]:
    """Bucket counts with one observation in each bucket of ``at`` (indexes into JOB_BOUNDS)."""
    found = list(EMPTY_COUNTS)
    for i in at:
        found[i] += 1
    return tuple(found)


async def test_job_ends_are_kept_by_function_and_outcome(store: RedisStore) -> None:
    """Two deploys (0.05 s and 100 s) and a failed announce: a histogram each, with bucket
    counts and the sum of their seconds."""
    await store.record_job("worker:a", "run_deploy", "ok", 0.05, running=1)
    await store.record_job("worker:b", "run_deploy", "ok", 100.0, running=0)
    await store.record_job("worker:a", "announce", "failed", 2.0, running=0)
    expected = {
        ("run_deploy", "ok"): Histogram(JOB_BOUNDS, counts(0, 6), 100.05),
        ("announce", "failed"): Histogram(JOB_BOUNDS, counts(3), 2.0),
    }
    assert expected == (await store.worker_figures()).job_duration


async def test_jobs_running_sums_the_live_workers_only(store: RedisStore) -> None:
    """Worker a runs 2, worker b 3 (said with their heartbeats), worker c, last heard from two
    minutes ago, said 7: 5 jobs run. A job's end updates its worker's count at once."""
    await store.heartbeat("worker:a", 2)
    await store.heartbeat("worker:b", 3)
    await store.heartbeat("worker:c", 7)
    await store.redis.zadd(store.key.workers(), {"worker:c": time.time() - 120})
    before = (await store.worker_figures()).jobs_running
    await store.record_job("worker:b", "announce", "ok", 0.2, running=2)
    assert (5, 4) == (before, (await store.worker_figures()).jobs_running)


async def test_renewals_are_counted_held_and_lost(store: RedisStore) -> None:
    """Two renewals of a running request by its worker, one by another worker: 2 renewed,
    1 lost."""
    await store.create(request(approvals=0))
    await store.claim(request(), "w")
    held = [await store.renew_lease("d-1", who) for who in ("w", "w", "other")]
    expected = ([True, True, False], {"renewed": 2, "lost": 1})
    assert expected == (held, (await store.worker_figures()).lease_renewals)


async def test_renewals_redis_did_not_answer_are_counted_with_the_next() -> None:
    """Redis stopped: two renewals fail; once it is back, the next renewal counts them as
    redis_unavailable beside itself."""
    with RedisServer() as server:
        client = connect(server.url)
        store = RedisStore(client)
        await store.create(request(approvals=0))
        await store.claim(request(), "w")
        server.stop()
        for _ in range(2):
            with pytest.raises(StoreUnavailable):
                await store.renew_lease("d-1", "w")
        server.start()
        assert await store.renew_lease("d-1", "w")
        renewals = (await store.worker_figures()).lease_renewals
        await client.aclose()
    assert {"renewed": 1, "redis_unavailable": 2} == renewals


class Services:
    def __init__(self, store: RedisStore) -> None:
        self.store = store


async def test_a_counted_job_records_its_outcome_and_running_count(store: RedisStore) -> None:
    """A job function wrapped by JobFigures: it counts as running while it runs; its end is
    recorded as ok, retried (arq's Retry) or failed (any other exception)."""
    figures, seen = JobFigures(), []
    ctx: dict[str, Any] = {"services": Services(store), "worker_name": "worker:a"}

    async def job(_: dict[str, Any], how: str) -> str:
        seen.append(figures.running)
        if how == "retry":
            raise Retry(defer=1)
        if how == "boom":
            raise ValueError(how)
        return how

    counted = figures.counted("announce", job)
    assert "ok" == await counted(ctx, "ok")
    for how, error in (("retry", Retry), ("boom", ValueError)):
        with pytest.raises(error):
            await counted(ctx, how)
    durations = (await store.worker_figures()).job_duration
    ends = {outcome: sum(h.counts) for (_, outcome), h in durations.items()}
    assert ([1, 1, 1], 0, {"ok": 1, "retried": 1, "failed": 1}) == (seen, figures.running, ends)


def test_prometheus_shows_the_worker_families() -> None:
    """The figures become a gauge, a histogram by function and outcome, and a counter by
    outcome."""
    from bot.ports.metrics import WorkerFigures

    figures = WorkerFigures(
        jobs_running=3,
        job_duration={("run_deploy", "ok"): Histogram(JOB_BOUNDS, counts(6), 100.0)},
        lease_renewals={"renewed": 4, "lost": 1},
    )
    text = exposition(EMPTY, figures).decode()
    found = {f.name: f.samples for f in text_string_to_metric_families(text)}
    labels = {"function": "run_deploy", "outcome": "ok"}
    expected = (
        [Sample("shipbot_worker_jobs_running", {}, 3.0)],
        Sample("shipbot_worker_job_duration_seconds_count", labels, 1.0),
        [
            Sample("shipbot_worker_lease_renewals_total", {"outcome": "lost"}, 1.0),
            Sample("shipbot_worker_lease_renewals_total", {"outcome": "renewed"}, 4.0),
        ],
    )
    durations = found["shipbot_worker_job_duration_seconds"]
    renewals = found["shipbot_worker_lease_renewals"]
    actual = (
        [Sample(s.name, s.labels, s.value) for s in found["shipbot_worker_jobs_running"]],
        next(Sample(s.name, s.labels, s.value) for s in durations if s.name.endswith("_count")),
        [Sample(s.name, s.labels, s.value) for s in renewals if s.name.endswith("_total")],
    )
    assert expected == actual
