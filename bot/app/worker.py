"""`shipbot worker`: runs queued deploys from Redis with arq (https://arq-docs.helpmanual.io/)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from arq import Retry, cron, func
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.exceptions import RedisError

from bot import logcontext
from bot.app import liveness, metrics_jobs
from bot.app.audit_chaining import keep_chaining
from bot.app.heartbeat import keep_heartbeat
from bot.app.job_figures import JobFigures
from bot.app.wiring import build_services, shared_session, slack_client
from bot.catalog.model import Catalog
from bot.catalog.options import timeout_of
from bot.catalog.settings import Settings
from bot.domain import approvals, audit_daily, commits, external
from bot.domain.deploys import run_request
from bot.domain.freezes.listing import warn_calendar_ranges
from bot.domain.sweep import recover_orphans, sweep
from bot.ports.deployer import DeployUnreachable
from bot.ports.notify import MetricsJob
from bot.ports.store import StoreUnavailable
from bot.store.connection import RedisTarget
from bot.store.keys import Keys
from bot.store.queue import (
    ANNOUNCE,
    POST_METRICS,
    RECORD_EXTERNAL,
    RUN_DEPLOY,
    ArqQueue,
    queue_name,
)

MIN_JOB_TIMEOUT = 3 * 3600
EXTERNAL_RETRY_SECONDS = 60
ANNOUNCE_RETRY_SECONDS = 5
STOP_GRACE_SECONDS = 300  # on SIGTERM, running deploys get this long to finish
MAX_JOBS = 20  # jobs one worker runs at once
# Threads for blocking tool calls (an Ansible run holds one for its whole length; GitLab and
# Kubernetes calls take one briefly): enough that MAX_JOBS deploys never wait for a thread,
# which asyncio's default pool (CPUs + 4) would make them do.
JOB_THREADS = 2 * MAX_JOBS + 4
RECONNECT_SECONDS = (1, 2, 5, 10)  # back-off while Redis is unreachable, then every 10 s
LEASE_WATCH = set(range(0, 60, 5))  # seconds of the minute: a lapsed lease is seen within 5 s

log = logging.getLogger(__name__)


async def work(settings: Settings, catalog: Catalog, burst: bool = False) -> None:
    """Run the arq worker until stopped; while Redis can't be reached at start, keep trying
    (and stop at SIGTERM or SIGINT meanwhile, which arq's handlers alone would not do)."""
    failures, target, stopped = 0, RedisTarget.of(settings), asyncio.Event()
    loop = asyncio.get_running_loop()
    while True:
        liveness.touch(Path(settings.shipbot_alive_file))  # alive while it waits for Redis
        for signum in (signal.SIGINT, signal.SIGTERM):  # until arq's worker installs its own
            loop.add_signal_handler(signum, stopped.set)
        worker, started = None, time.monotonic()
        try:
            worker = build_worker(settings, catalog, burst, await target.arq_pool())
            worker.on_stop = lambda _: stopped.set()
            await worker.async_run()
            return
        except (RedisError, OSError) as error:
            failures = 0 if time.monotonic() - started > 60 else failures
            delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
            log.warning("Redis unreachable (%s); retrying in %ss", type(error).__name__, delay)
            failures += 1
        finally:
            if worker is not None:
                with contextlib.suppress(RedisError, OSError):
                    await worker.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), delay)
        if stopped.is_set():
            return


async def run_deploy(ctx: dict[str, Any], request_id: str) -> str | None:
    with logcontext.scope(request_id=request_id):
        state = await run_request(ctx["services"], request_id, ctx["worker_name"])
        if state is not None:
            log.info("request %s ended: %s", request_id, state.value)
    return state.value if state else None


async def announce(ctx: dict[str, Any], request_id: str) -> None:
    """Bind a new request to its version's commit, then post its card (both kept off the
    bot's ack path), then look up its approvers' user groups, so their clicks find them cached."""
    with logcontext.scope(request_id=request_id):
        try:
            await commits.announce(ctx["services"], request_id)
            await approvals.warm_groups(ctx["services"], request_id)
        except StoreUnavailable:  # tried again shortly (and by the sweep, if all tries fail)
            log.warning("announcing %s: Redis unavailable; trying again", request_id)
            raise Retry(defer=ANNOUNCE_RETRY_SECONDS) from None


async def record_external(ctx: dict[str, Any], project_id: int, deployment_id: int) -> list[str]:
    """A GitLab deployment a webhook announced (see bot/domain/external.py)."""
    services = ctx["services"]
    if services.lookup_deployment is None:
        log.warning("a GitLab deployment hook arrived, but GITLAB_URL/GITLAB_TOKEN are not set")
        return []
    try:
        return await external.record_external(
            services, services.lookup_deployment, project_id, deployment_id
        )
    except DeployUnreachable as error:
        log.warning("GitLab unreachable (%s); will ask again", error)
        raise Retry(defer=EXTERNAL_RETRY_SECONDS) from None


async def post_metrics(ctx: dict[str, Any], *job: str) -> bool:
    """A /metrics card and its chart; ``job`` is a MetricsJob's args."""
    return await metrics_jobs.post_asked(ctx["services"], MetricsJob(*job))


async def metrics_digest(ctx: dict[str, Any]) -> bool:
    """The scheduled metrics digest, when one is due and no other worker took it."""
    return await metrics_jobs.digest_tick(ctx["services"])


async def audit_day(ctx: dict[str, Any]) -> tuple[int | None, bool]:
    """The audit trail's daily retention and head witness, when due (see audit_daily.py)."""
    return await audit_daily.daily(ctx["services"], time.time())


async def sweep_now(ctx: dict[str, Any]) -> list[str]:
    """The periodic sweep (see bot/domain/sweep.py); and, once a day, the log's warning about
    exchange calendars past their known range."""
    warn_calendar_ranges(ctx["services"].catalog)
    return await sweep(ctx["services"], ctx["worker_name"])


async def watch_leases(ctx: dict[str, Any]) -> list[str]:
    """End the deploys whose worker died (see bot/domain/sweep.py), every few seconds."""
    return await recover_orphans(ctx["services"], ctx["worker_name"])


class ResilientWorker(Worker):
    """arq's worker, except that a Redis blip pauses polling instead of stopping the worker
    (which would wait for every running deploy before it could poll again)."""

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as error:
            log.warning("Redis unreachable while polling (%s); retrying", type(error).__name__)
            await asyncio.sleep(1)


def job_timeout(catalog: Catalog) -> int:
    """Long enough for the slowest environment to deploy every data centre and roll each
    back, at its deployers' own timeouts, with an hour to spare; at least 3 hours."""
    longest = max(
        sum(2 * timeout_of(service.deployer, service.options_for(name, t)) for t in env.targets())
        for service in catalog.services.values()
        for name, env in service.environments.items()
    )
    return max(MIN_JOB_TIMEOUT, longest + 3600)


class JobKind(NamedTuple):
    """One of the worker's jobs, as arq is told of it (none keeps its result)."""

    name: str
    function: Callable[..., Awaitable[Any]]
    timeout: int  # seconds
    tries: int


def job_kinds(catalog: Catalog) -> list[JobKind]:
    return [
        JobKind(RUN_DEPLOY, run_deploy, job_timeout(catalog), 1),  # the sweep enqueues it again
        JobKind(ANNOUNCE, announce, 60, 3),
        JobKind(RECORD_EXTERNAL, record_external, 60, 3),
        JobKind(POST_METRICS, post_metrics, 120, 1),
    ]


def build_worker(
    settings: Settings, catalog: Catalog, burst: bool = False, pool: ArqRedis | None = None
) -> Worker:
    """The worker, on ``pool`` (by default a pool arq makes from the settings)."""
    keys, target = Keys(settings.shipbot_key_prefix), RedisTarget.of(settings)
    figures = JobFigures()

    async def startup(ctx: dict[str, Any]) -> None:
        threads = ThreadPoolExecutor(JOB_THREADS, thread_name_prefix="shipbot-job")
        asyncio.get_running_loop().set_default_executor(threads)
        ctx["worker_name"] = f"worker:{socket.gethostname()}:{os.getpid()}"
        ctx["resources"] = resources = contextlib.AsyncExitStack()
        resources.callback(threads.shutdown, wait=False)  # the last thing closed
        store_redis = target.client()
        resources.push_async_callback(store_redis.aclose)
        client = slack_client(settings)
        await resources.enter_async_context(shared_session(client))
        # both leave a demoted master at once (the pool is ours: see `work`)
        await resources.enter_async_context(target.watch(store_redis, ctx["redis"]))
        queue = ArqQueue(ctx["redis"], settings.shipbot_key_prefix)  # arq's own pool
        ctx["services"] = services = build_services(settings, catalog, store_redis, queue, client)
        alive = Path(settings.shipbot_alive_file)
        beating = keep_heartbeat(services.store, ctx["worker_name"], lambda: figures.running, alive)
        beat = asyncio.create_task(beating)
        resources.callback(beat.cancel)  # it counts as alive a while longer: a restart is quiet
        ctx["chain_nudge"] = nudge = asyncio.Event()
        chainer = asyncio.create_task(keep_chaining(services.store, nudge))
        resources.callback(chainer.cancel)  # what it has not chained, the next chainer will

    async def job_ended(ctx: dict[str, Any]) -> None:
        if "chain_nudge" in ctx:  # the job's transitions wait in the audit inbox: chain them
            ctx["chain_nudge"].set()

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "resources" in ctx:
            await ctx["resources"].aclose()

    return ResilientWorker(
        queue_name=queue_name(settings.shipbot_key_prefix),
        functions=[
            func(
                figures.counted(j.name, j.function),
                name=j.name,
                timeout=j.timeout,
                max_tries=j.tries,
                keep_result=0,
            )
            for j in job_kinds(catalog)
        ],
        cron_jobs=[
            cron(sweep_now, name=keys.cron("sweep"), second={0, 30}, run_at_startup=True),
            cron(watch_leases, name=keys.cron("leases"), second=LEASE_WATCH, run_at_startup=True),
            cron(metrics_digest, name=keys.cron("digest"), second=0, run_at_startup=True),
            cron(audit_day, name=keys.cron("audit"), second=0, run_at_startup=True),
        ],
        redis_settings=None if pool else target.arq_settings(),
        redis_pool=pool,
        on_startup=startup,
        on_shutdown=shutdown,
        on_job_end=job_ended,
        burst=burst,
        max_jobs=MAX_JOBS,
        poll_delay=0.2,
        handle_signals=True,
        job_completion_wait=STOP_GRACE_SECONDS,
    )
