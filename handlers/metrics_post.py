"""A metrics card and its chart, posted: what a worker (or the console) does for /metrics and
for the digest, once the figures are read."""

from __future__ import annotations

import asyncio

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Summary
from bot.ports.notify import Notifier, Upload
from handlers.metrics_blocks import metrics_card, title
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


async def post_asked(notifier: Notifier, user: str, channel: str, summary: Summary) -> bool:
    """post_card for someone who asked: if Slack refuses the card there (a private channel
    without the bot), they are told directly instead of waiting for nothing."""
    if await post_card(notifier, channel, summary):
        return True
    text = refused_text(channel, summary)
    await _tell(notifier, user, text)
    return False


def refused_text(channel: str, summary: Summary) -> str:
    return (
        f"I couldn't post the card you asked for ({title(summary)}) in "
        f"<#{channel}>. Invite me to that channel, or ask again in a channel I'm in."
    )


async def unavailable(notifier: Notifier, user: str, service: str, period: Period) -> None:
    """The figures could not be read (Redis unreachable): the person who asked is told."""
    text = (
        f"shipbot can't reach its state store (Redis) right now, so the delivery metrics of "
        f"{service or 'all services'} for {period} could not be read. Please try again in a "
        "minute."
    )
    await _tell(notifier, user, text)


async def broke(notifier: Notifier, user: str, service: str, period: Period) -> None:
    """The figures could not be put together (a bug, logged): the person who asked is told."""
    text = (
        f"shipbot could not put together the delivery metrics of {service or 'all services'} "
        f"for {period} (an internal error; the operators' log says why). Please tell them."
    )
    await _tell(notifier, user, text)


async def _tell(notifier: Notifier, user: str, text: str) -> None:
    """A direct message (as the card's refusal is told for a deploy request)."""
    await notifier.post_blocks(
        user, text, [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]
    )
