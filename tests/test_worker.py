"""The worker's periodic jobs, with arq's own scheduler against a real redis-server."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from arq.connections import RedisSettings, create_pool

from bot.app.worker import MAX_JOBS, build_worker
from bot.catalog.model import load_catalog
from bot.catalog.settings import Settings
from tests.conftest import write_catalog
from tests.fakes import RedisServer


async def test_installations_sharing_a_redis_each_run_their_own_periodic_jobs(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Two installations (different SHIPBOT_KEY_PREFIX) on one Redis, scheduling the same
    tick: each queue gets its sweep, its lease watch, its digest and audit checks, and every
    job id names its prefix."""
    catalog = load_catalog(write_catalog(tmp_path))
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    await pool.flushdb()
    tick = datetime(2026, 12, 2, 9, 0, 30, tzinfo=UTC)
    for prefix in ("alpha", "beta"):
        settings = Settings(redis_url=redis_server.url, shipbot_key_prefix=prefix)
        worker = build_worker(settings, catalog)
        worker._pool = pool  # what arq sets on start; run_cron needs only this
        await worker.run_cron(tick, delay=0.5)
    queued = {p: await pool.zrange(f"{p}:jobs", 0, -1) for p in ("alpha", "beta")}
    await pool.aclose()
    expected = {
        p: sorted(
            f"cron:{p}:{name}:{int(tick.timestamp() * 1000)}"
            for name in ("audit", "digest", "leases", "sweep")
        )
        for p in ("alpha", "beta")
    }
    assert expected == {p: sorted(j.decode() for j in jobs) for p, jobs in queued.items()}


async def test_a_worker_has_a_thread_for_each_job_it_may_run(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Once a worker has started, MAX_JOBS blocking calls (Ansible runs, each holding a thread
    for its whole length) all run at once: none waits for a thread, as with asyncio's default
    pool of CPUs + 4."""
    settings = Settings(redis_url=redis_server.url, shipbot_alive_file=str(tmp_path / "alive"))
    worker = build_worker(settings, load_catalog(write_catalog(tmp_path)))
    ctx: dict[str, Any] = {"redis": await create_pool(RedisSettings.from_dsn(redis_server.url))}
    assert worker.on_startup is not None and worker.on_shutdown is not None
    await worker.on_startup(ctx)
    together = threading.Barrier(MAX_JOBS, timeout=30)  # broken if one call has no thread
    try:
        await asyncio.gather(*(asyncio.to_thread(together.wait) for _ in range(MAX_JOBS)))
    finally:
        await worker.on_shutdown(ctx)
        await ctx["redis"].aclose()


async def test_a_stopped_worker_shuts_its_job_threads_down(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Once the worker has shut down, its pool of job threads takes no more calls: the
    threads are not left behind."""
    settings = Settings(redis_url=redis_server.url, shipbot_alive_file=str(tmp_path / "alive"))
    worker = build_worker(settings, load_catalog(write_catalog(tmp_path)))
    ctx: dict[str, Any] = {"redis": await create_pool(RedisSettings.from_dsn(redis_server.url))}
    assert worker.on_startup is not None and worker.on_shutdown is not None
    await worker.on_startup(ctx)
    await worker.on_shutdown(ctx)
    await ctx["redis"].aclose()
    with pytest.raises(RuntimeError, match="shutdown"):
        await asyncio.to_thread(int)
