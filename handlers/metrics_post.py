"""A metrics card and its chart, posted: what a worker (or the console) does for /metrics and
for the digest, once the figures are read."""

from __future__ import annotations

import asyncio

from bot.domain.metrics.summary import Summary
from bot.ports.notify import Notifier, Upload
from handlers.metrics_blocks import metrics_card
from handlers.metrics_chart import chart_png


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
