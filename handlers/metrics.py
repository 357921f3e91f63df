"""/metrics [service] [period]: ack at once, and a worker posts the card and its chart.

The ack path only parses (the catalog's services, the period against today in the catalog's
time zone) and enqueues; reading the aggregates and drawing the chart happen in a worker
(handlers/metrics_post.py, which only workers and the console import: the bot's HTTP process
never loads matplotlib).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain import reports
from bot.domain.grammar import UsageError
from bot.domain.metrics.ask import MetricsAsk, parse_metrics
from bot.domain.metrics.days import today
from bot.domain.services import Services
from bot.models import Workers
from bot.ports.notify import MetricsJob
from handlers.blocks import no_worker
from handlers.guard import delivery_key, guarded, where
from handlers.metrics_blocks import labelled
from handlers.routes import METRICS


def register(app: AsyncApp, services: Services) -> None:
    app.command(METRICS)(guarded(_metrics(services), services.notifier))


def _metrics(services: Services) -> Any:
    async def metrics(ack: Any, body: dict[str, Any]) -> None:
        (channel, user), text = where(body), str(body.get("text", ""))
        catalog = services.catalog
        try:
            ask = parse_metrics(text, catalog.services, today(catalog.timezone))
        except UsageError as problem:
            await ack(response_type="ephemeral", text=str(problem))
            return
        await services.queue.metrics(job_of(ask, channel, user, delivery_key(body)))
        await ack(response_type="ephemeral", text=working(ask, await reports.workers(services)))

    return metrics


def job_of(ask: MetricsAsk, channel: str, user: str, delivery: str = "") -> MetricsJob:
    period = ask.period
    first, last = period.first.isoformat(), period.last.isoformat()
    return MetricsJob(channel, user, ask.service or "", first, last, period.label, delivery)


def working(ask: MetricsAsk, workers: Workers) -> str:
    """The ack: what will appear where, and a warning when no worker is alive to post it."""
    said = (
        f"Working on it: the delivery metrics of {ask.scope} for {ask.period}"
        f"{labelled(ask.period)} will appear in this channel, with a chart in its thread."
    )
    return f"{said} {no_worker(workers)}" if not workers.alive else said
