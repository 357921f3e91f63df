"""A worker's jobs, counted: how many run now (sent with each heartbeat, and as each job ends)
and how long each took, by function and outcome, into Redis (bot/store/worker_figures.py), so
that GET /metrics on any replica shows every worker's figures.

Outcomes: ``ok`` (the job returned; a deploy that failed is still a job that ran), ``retried``
(it asked arq to run it again later), ``failed`` (it raised, timed out or was cancelled).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry
from arq.typing import WorkerCoroutine

from bot.ports.store import StoreFailed, StoreUnavailable

log = logging.getLogger(__name__)


class JobFigures:
    """The jobs of one worker process."""

    def __init__(self) -> None:
        self.running = 0

    def counted(self, name: str, job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
        """``job`` (an arq job function named ``name``), counted while it runs and timed."""

        @functools.wraps(job)
        async def counted_job(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
            self.running += 1
            started, outcome = time.monotonic(), "failed"
            try:
                result = await job(ctx, *args, **kwargs)
                outcome = "ok"
                return result
            except Retry:
                outcome = "retried"
                raise
            finally:
                self.running -= 1
                await self._record(ctx, name, outcome, time.monotonic() - started)

        return counted_job

    async def _record(self, ctx: dict[str, Any], name: str, outcome: str, seconds: float) -> None:
        """Into Redis; a figure Redis cannot take now is lost, and the job's end is not."""
        try:
            await ctx["services"].store.record_job(
                ctx["worker_name"], name, outcome, seconds, self.running
            )
        except (StoreUnavailable, StoreFailed) as error:
            log.warning("could not count the end of a %s job (%s)", name, error)
