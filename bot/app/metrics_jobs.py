"""The metrics work a worker (or the console) does: a /metrics card asked for, and the
scheduled digest (see bot/domain/metrics/digest.py)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date

from bot.domain.metrics import digest
from bot.domain.metrics.figures import summarize as read_figures
from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Summary
from bot.domain.services import Services
from bot.ports.notify import MetricsJob
from bot.ports.store import StoreUnavailable
from handlers import metrics_post

log = logging.getLogger(__name__)

Summarize = Callable[[Services, str | None, Period], Awaitable[Summary]]


async def post_asked(
    services: Services, job: MetricsJob, summarize: Summarize | None = None
) -> bool:
    """The card /metrics asked for, over the days fixed when it was asked; whether posted.
    Redis unreachable: the person who asked is told, rather than left waiting."""
    period = Period(date.fromisoformat(job.first), date.fromisoformat(job.last), job.label)
    try:
        summary = await (summarize or read_figures)(services, job.service or None, period)
    except StoreUnavailable as error:
        log.warning("metrics not read: Redis unavailable (%s)", error)
        await metrics_post.unavailable(services.notifier, job.user, job.service, period)
        return False
    except Exception:  # a bug: logged for the operators, and the person who asked is told
        log.exception("the delivery metrics of %s could not be read", job.service or "all")
        await metrics_post.broke(services.notifier, job.user, job.service, period)
        return False
    return await metrics_post.post_asked(services.notifier, job.user, job.channel, summary)


async def digest_tick(
    services: Services, now: float | None = None, summarize: Summarize | None = None
) -> bool:
    """Post the digest if one is due and no other worker took it; whether this one posted."""
    now = time.time() if now is None else now
    try:
        due = await digest.claim(services, now)
    except StoreUnavailable as error:  # the next minute's check asks again
        log.warning("metrics digest not checked: Redis unavailable (%s)", error)
        return False
    if due is None:
        return False
    try:
        summary = await (summarize or read_figures)(services, None, due.period)
    except Exception as error:  # given up, so a worker tries again next minute
        log.warning("metrics digest not read (%s); trying again", type(error).__name__,
                    exc_info=not isinstance(error, StoreUnavailable))  # fmt: skip
        with contextlib.suppress(StoreUnavailable):
            await services.store.release_once(due.due.name)
        return False
    when = due.due.at.strftime("%a %Y-%m-%d %H:%M %Z")
    log.info("posting the metrics digest scheduled for %s", when)
    lead = f"Metrics digest, scheduled for {when}"
    return await metrics_post.post_card(services.notifier, due.channel, summary, lead)
