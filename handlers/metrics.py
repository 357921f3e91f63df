"""/metrics [service] [period]: ack at once, and a worker posts the card and its chart.

The ack path only parses (the catalog's services, the period against today in the catalog's
time zone) and enqueues; reading the aggregates and drawing the chart happen in a worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain import reports
from bot.domain.grammar import UsageError
from bot.domain.metrics.ask import MetricsAsk, parse_metrics
from bot.domain.metrics.days import today
from bot.domain.metrics.summary import Summary
from bot.domain.services import Services
from bot.models import Workers
from bot.ports.notify import MetricsJob, Notifier, Upload
from handlers.blocks import no_worker
from handlers.guard import delivery_key, guarded, where
from handlers.metrics_blocks import labelled, metrics_card
from handlers.metrics_chart import chart_png
from handlers.routes import METRICS


def register(app: AsyncApp, services: Services) -> None:
    app.command(METRICS)(guarded(_metrics(services), services.notifier))


def _metrics(services: Services) -> Any:
    async def metrics(ack: Any, body: dict[str, Any]) -> None:
        (channel, _), text = where(body), str(body.get("text", ""))
        catalog = services.catalog
        try:
            ask = parse_metrics(text, catalog.services, today(catalog.timezone))
        except UsageError as problem:
            await ack(response_type="ephemeral", text=str(problem))
            return
        await services.queue.metrics(job_of(ask, channel, delivery_key(body)))
        await ack(response_type="ephemeral", text=working(ask, await reports.workers(services)))

    return metrics


def job_of(ask: MetricsAsk, channel: str, delivery: str = "") -> MetricsJob:
    period = ask.period
    first, last = period.first.isoformat(), period.last.isoformat()
    return MetricsJob(channel, ask.service or "", first, last, period.label, delivery)


def working(ask: MetricsAsk, workers: Workers) -> str:
    """The ack: what will appear where, and a warning when no worker is alive to post it."""
    said = (
        f"Working on it: the delivery metrics of {ask.scope} for {ask.period}"
        f"{labelled(ask.period)} will appear in this channel, with a chart in its thread."
    )
    return f"{said} {no_worker(workers)}" if not workers.alive else said


async def post_card(notifier: Notifier, channel: str, summary: Summary, lead: str = "") -> bool:
    """The card in ``channel``, then its chart (drawn in a thread, off the event loop) as a
    reply in the card's thread; whether the card was posted."""
    text, blocks = metrics_card(summary, lead)
    ts = await notifier.post_blocks(channel, text, blocks)
    if ts is None:
        return False
    png = await asyncio.to_thread(chart_png, summary)
    name = f"shipbot-metrics-{summary.scope.replace(' ', '-')}-{summary.period.last}.png"
    title = f"Deploys per week and lead time: {summary.scope}, {summary.period}"
    await notifier.upload_file(channel, Upload(name, png, title, thread_ts=ts))
    return True
