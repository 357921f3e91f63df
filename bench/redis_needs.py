"""What shipbot needs from Redis, measured: memory per thousand requests and the commands used.

Starts a private redis-server (AOF on, as production should run it), then takes N requests
(default 1,000) through the store as the bot and a worker do: created (announce job enqueued),
approved by two people, run job enqueued and taken by a real arq worker, claimed, card and steps
saved, deployed in two data centres, finished (history, metrics, audit), card re-saved. It prints
``used_memory`` after creating and approving them (all pending) and at the end (all ended),
per 1,000 requests, the keys left, and ``INFO commandstats`` for the whole flow.

    .venv/bin/python bench/redis_needs.py [--requests 1000]

A measurement, not a test: nothing is asserted beyond the flow having worked.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arq import func  # noqa: E402 - needs the repo root on sys.path
from arq.worker import Worker  # noqa: E402

from bot.models import DeployRequest, HistoryEntry, State, Step, StepStatus  # noqa: E402
from bot.ports.store import FinishRecord  # noqa: E402
from bot.store.connection import RedisTarget  # noqa: E402
from bot.store.queue import ANNOUNCE, RUN_DEPLOY, ArqQueue, queue_name  # noqa: E402
from bot.store.requests import RedisStore  # noqa: E402
from tests.fakes import RedisServer  # noqa: E402

PREFIX = "shipbot"
SERVICES = [f"svc-{i:02d}" for i in range(50)]
DATACENTERS = ("dc-a", "dc-b")


def request(number: int) -> DeployRequest:
    return DeployRequest.model_validate(
        {
            "id": f"d-{number:06d}",
            "service": SERVICES[number % len(SERVICES)],
            "environment": "prod",
            "version": f"v1.{number}.0",
            "requester": "U0DEV",
            "channel": "C0DEPLOY",
            "reason": "release train of the week, ticket CHG-12345",
            "catalog_revision": "3f2a9c1",
            "approvals_needed": 2,
            "expires_at": time.time() + 3600,
            "steps": [Step(target=dc) for dc in DATACENTERS],
        }
    )


def finished(r: DeployRequest) -> FinishRecord:
    for step in r.steps:
        step.status = StepStatus.SUCCEEDED
    entry = HistoryEntry(
        request_id=r.id, action=r.action, service=r.service, environment=r.environment,
        version=r.version, state=State.SUCCEEDED, requester=r.requester, approvers=r.approvers,
        targets={s.target: s.status.value for s in r.steps}, started_at=r.started_at,
        finished_at=time.time(),
    )  # fmt: skip
    return FinishRecord(r, "worker-1", State.SUCCEEDED, "", entry)


async def ask(store: RedisStore, queue: ArqQueue, r: DeployRequest) -> None:
    """What the bot does: create and announce; then two approvals (the last one queues it)."""
    await store.create(r)
    await queue.announce(r.id)
    await store.approve(r, "U0ALICE", eligible=[0])
    await store.approve(r, "U0BOB", eligible=[0])
    await queue.start(r.id)


async def run(store: RedisStore, r: DeployRequest) -> None:
    """What the worker's run job does, around the deployers."""
    fresh = await store.get(r.id)
    assert fresh is not None
    await store.claim(fresh, "worker-1")
    await store.set_card(r.id, "C0DEPLOY", f"{time.time():.6f}")
    await store.save_steps(fresh)
    for dc in DATACENTERS:
        await store.record_deployed(fresh, dc)
    await store.finish(finished(fresh))


async def drain(target: RedisTarget, store: RedisStore) -> int:
    """A real arq worker (burst) takes every job: run jobs run the store's part of a deploy."""

    async def run_deploy(_: dict[str, Any], request_id: str) -> None:
        found = await store.get(request_id)
        assert found is not None
        await run(store, found)

    async def announce(_: dict[str, Any], request_id: str) -> None:
        await store.set_card(request_id, "C0DEPLOY", f"{time.time():.6f}")

    worker = Worker(
        functions=[
            func(run_deploy, name=RUN_DEPLOY, keep_result=0, max_tries=1),
            func(announce, name=ANNOUNCE, keep_result=0, max_tries=1),
        ],
        redis_pool=await target.arq_pool(),
        queue_name=queue_name(PREFIX),
        burst=True,
        max_jobs=20,
        poll_delay=0.05,
        handle_signals=False,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return worker.jobs_complete


async def measure(url: str, count: int) -> None:
    target = RedisTarget.at(url)
    redis = target.client()
    pool = await target.arq_pool()
    store, queue = RedisStore(redis, PREFIX), ArqQueue(pool, PREFIX)
    try:
        await redis.flushall()
        await redis.config_resetstat()
        base = (await redis.info("memory"))["used_memory"]
        requests = [request(n) for n in range(count)]
        for r in requests:
            await ask(store, queue, r)
        pending = (await redis.info("memory"))["used_memory"]
        done = await drain(target, store)
        ended = (await redis.info("memory"))["used_memory"]
        keys = await redis.dbsize()
        states = {str((await store.get(r.id)).state.value) for r in requests}  # type: ignore[union-attr]
        stats = await redis.info("commandstats")
    finally:
        await redis.aclose()
        await pool.aclose()
    per = 1000 / count
    print(f"{count} requests, {done} jobs run by arq, end states {sorted(states)}")
    print(f"used_memory per 1,000 requests, all pending (created, approved, queued): "
          f"{(pending - base) * per / 1e6:.2f} MB")  # fmt: skip
    print(f"used_memory per 1,000 requests, all ended (history, audit, metrics kept): "
          f"{(ended - base) * per / 1e6:.2f} MB; {keys} keys")  # fmt: skip
    print("\ncommands (INFO commandstats over the whole flow), by calls:")
    rows = sorted(stats.items(), key=lambda item: -int(item[1]["calls"]))
    for name, row in rows:
        print(f"  {name.removeprefix('cmdstat_').upper():<22}{row['calls']:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with RedisServer() as server:
        asyncio.run(measure(server.url, args.requests))


if __name__ == "__main__":
    main()
