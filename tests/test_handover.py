"""A new request and its job in one write: create.lua writes the job exactly as arq's
``enqueue_job`` would, and a real arq worker runs it. Real redis-server, real arq."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import Worker
from arq.connections import ArqRedis, RedisSettings
from arq.worker import func
from fakeredis import FakeAsyncRedis as FakeRedis

from bot.ports.store import StoreFailed
from bot.store.keys import Keys
from bot.store.queue import ANNOUNCE, RUN_DEPLOY, ArqQueue
from bot.store.requests import RedisStore, connect
from tests.fakes import RedisServer
from tests.test_store import request

QUEUE = Keys().jobs()


@pytest.fixture
async def queue(redis_server: RedisServer) -> AsyncIterator[ArqQueue]:
    pool = ArqRedis.from_url(redis_server.url)
    yield ArqQueue(pool)
    await pool.aclose()


async def jobs(store: RedisStore) -> list[str]:
    """The ids queued in arq's queue, in the order they run."""
    return list(await store.redis.zrange(QUEUE, 0, -1))


async def test_the_job_is_what_arqs_enqueue_job_writes(store: RedisStore, queue: ArqQueue) -> None:
    """Same key, data (but for the moment it was made), expiry and queue score as
    ``enqueue_job`` with the same job id: arq's workers cannot tell them apart."""
    handover = queue.handover("d-1")
    created = await store.create(request("d-1"), "delivery-1", handover)
    theirs = await queue.pool.enqueue_job(
        ANNOUNCE, "d-2", _job_id=Keys().job(ANNOUNCE, "d-2"), _queue_name=QUEUE
    )
    assert theirs is not None and created is not None and created.handed_over
    ours_key, theirs_key = Keys.arq_job("shipbot:announce:d-1"), Keys.arq_job(theirs.job_id)
    ours, their = await _stored(queue, ours_key), await _stored(queue, theirs_key)
    assert {**ours, "a": ("d-2",), "et": 0} == {**their, "a": ("d-2",), "et": 0}
    ttl_ours, ttl_theirs = await store.redis.pttl(ours_key), await store.redis.pttl(theirs_key)
    assert abs(ttl_ours - ttl_theirs) < 60_000
    score = await store.redis.zscore(QUEUE, "shipbot:announce:d-1")
    assert (ours["et"], ["shipbot:announce:d-1", theirs.job_id]) == (score, await jobs(store))


async def test_a_pending_request_gets_its_announce_job(store: RedisStore, queue: ArqQueue) -> None:
    """Approvals needed: the job posts its card."""
    await store.create(request("d-1"), "", queue.handover("d-1"))
    assert ["shipbot:announce:d-1"] == await jobs(store)


async def test_a_request_at_the_head_of_its_lane_gets_its_run_job(
    store: RedisStore, queue: ArqQueue
) -> None:
    """No approval needed and nothing ahead: the job runs it; behind another, it is announced."""
    await store.create(request("d-1", approvals=0), "", queue.handover("d-1"))
    await store.create(request("d-2", approvals=0), "", queue.handover("d-2"))
    assert ["shipbot:run_deploy:d-1", "shipbot:announce:d-2"] == await jobs(store)


async def test_a_replayed_delivery_enqueues_nothing_twice(
    store: RedisStore, queue: ArqQueue
) -> None:
    """Slack's retry of the same delivery: no second request, no second job."""
    first = await store.create(request("d-1"), "delivery-1", queue.handover("d-1"))
    again = await store.create(request("d-2"), "delivery-1", queue.handover("d-2"))
    assert (True, None, ["shipbot:announce:d-1"]) == (
        first is not None and first.handed_over,
        again,
        await jobs(store),
    )


async def test_a_create_the_script_refuses_enqueues_nothing(
    store: RedisStore, queue: ArqQueue
) -> None:
    """An id that exists already is an error, and no job is written for it."""
    await store.create(request("d-1"), "")  # no jobs given: none written
    with pytest.raises(StoreFailed):
        await store.create(request("d-1"), "", queue.handover("d-1"))
    assert [] == await jobs(store)


async def test_a_job_already_there_is_not_written_again(store: RedisStore, queue: ArqQueue) -> None:
    """As arq: a job whose id is queued, or has a result, is left as it is."""
    result_of = Keys.arq_result("shipbot:announce:d-2")
    await queue.announce("d-1")
    await store.redis.set(result_of, b"done")
    await store.create(request("d-1"), "", queue.handover("d-1"))
    created = await store.create(request("d-2"), "", queue.handover("d-2"))
    assert (True, ["shipbot:announce:d-1"]) == (created and created.handed_over, await jobs(store))


async def test_without_jobs_nothing_is_handed_over(store: RedisStore) -> None:
    """A queue that cannot be written with the record (the console's): the caller enqueues."""
    created = await store.create(request("d-1"), "")
    assert (False, []) == (created and created.handed_over, await jobs(store))


async def test_an_arq_worker_runs_the_job(
    store: RedisStore, queue: ArqQueue, redis_server: RedisServer
) -> None:
    """The job create.lua wrote is run by arq's own worker, with the request's id."""
    ran: list[tuple[str, str]] = []

    async def announce(_: dict[str, Any], request_id: str) -> None:
        ran.append((ANNOUNCE, request_id))

    async def run_deploy(_: dict[str, Any], request_id: str) -> None:
        ran.append((RUN_DEPLOY, request_id))

    await store.create(request("d-1"), "", queue.handover("d-1"))
    await store.create(request("d-2", approvals=0), "", queue.handover("d-2"))
    worker = Worker(
        functions=[func(announce, name=ANNOUNCE), func(run_deploy, name=RUN_DEPLOY)],
        queue_name=QUEUE,
        redis_settings=RedisSettings.from_dsn(redis_server.url),
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await asyncio.wait_for(worker.main(), timeout=30)
    finally:
        await worker.close()
    assert [(ANNOUNCE, "d-1"), (RUN_DEPLOY, "d-2")] == sorted(ran)


async def _stored(queue: ArqQueue, key: str) -> dict[str, Any]:
    """A job's data as arq reads it (arq's pool does not decode replies)."""
    loaded: dict[str, Any] = pickle.loads(await queue.pool.get(key))  # noqa: S301 (arq's data)
    return loaded


AWKWARD = '🚀 ünïcödé 日本語 "quoted" back\\slash\nnew line\ttab \u0000nul {"json": [1]}'


@pytest.fixture(params=["redis-server", "fakeredis"])
async def any_store(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[RedisStore]:
    """The store on a real redis-server, and on fakeredis (the console's): both run create.lua."""
    client = (
        connect(redis_server.url)
        if request.param == "redis-server"
        else FakeRedis(decode_responses=True)
    )
    await client.flushdb()
    yield RedisStore(client)
    await client.aclose()


async def test_every_field_is_stored_as_it_was_asked(any_store: RedisStore) -> None:
    """The fields go to Redis as one JSON object: what is read back is what was asked, to the
    character, numbers and flags included."""
    asked = request("d-1", reason=AWKWARD, hotfix=True, emergency="é outage", created_at=1.25)
    await any_store.create(asked)
    stored = await any_store.get("d-1")
    assert stored is not None
    assert asked.model_dump(exclude={"state"}) == stored.model_dump(exclude={"state"})
    raw = await any_store.redis.hgetall(Keys().req("d-1"))
    assert ("1", "1.25", "2") == (raw["hotfix"], raw["created_at"], raw["approvals_needed"])
