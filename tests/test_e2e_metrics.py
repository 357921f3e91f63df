"""End to end over real HTTP and real Redis: `/metrics` is acked at once with a private line,
and a `shipbot worker` process posts the card in the channel and its chart (a real PNG) in the
card's thread, through Slack's three upload steps; bad input is answered privately and nothing
is asked of a worker."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeSlack, Message, RedisServer, Upload
from tests.stack import CHANNEL, Stack, reply_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def metrics_cards(bot: Stack) -> list[Message]:
    return [
        m
        for m in bot.slack.messages(CHANNEL)
        if m.blocks and m.blocks[0].get("text", {}).get("text", "").startswith("Delivery metrics")
    ]


def card_with_chart(bot: Stack, count: int = 1) -> tuple[Message, Upload]:
    """The newest metrics card, once ``count`` cards and their charts are in the channel."""

    def posted() -> tuple[Message, Upload] | None:
        cards, charts = metrics_cards(bot), bot.slack.uploads(CHANNEL)
        return (cards[-1], charts[-1]) if len(cards) >= count and len(charts) >= count else None

    return bot.slack.wait_for(posted, timeout=30)


def card_text(card: Message) -> str:
    return json.dumps(card.blocks, ensure_ascii=False)


def test_metrics_acks_privately_then_the_worker_posts_card_and_chart(bot: Stack) -> None:
    """`/metrics web-h5 7d`: an ephemeral "working on it" at once; then the card in the channel
    and, in its thread, the chart: a PNG through getUploadURLExternal, the POST of its bytes
    and completeUploadExternal, in that order."""
    answer = reply_text(bot.command("web-h5 7d", command="/metrics"))
    assert answer.startswith("Working on it: the delivery metrics of web-h5 for ")
    card, chart = card_with_chart(bot)
    header = card.blocks[0]["text"]["text"]  # type: ignore[index]
    assert re.fullmatch(r"Delivery metrics: web-h5, \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d", header)
    assert "(7d), against" in card_text(card)
    assert (CHANNEL, card.ts) == (chart.channel, chart.thread_ts)
    assert chart.content is not None and PNG_SIGNATURE == chart.content[:8]
    assert len(chart.content) > 10_000
    steps = ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert steps == [c.method for c in bot.slack.calls() if c.method in steps]


def test_a_deploy_shows_in_the_card(bot: Stack) -> None:
    """After one successful production deploy of `flaky`, its card counts it: one deploy in
    30 days, new against nothing before, a success rate of 100%."""
    bot.deployed("flaky v1 to prod")
    bot.command("flaky", command="/metrics")
    text = card_text(card_with_chart(bot)[0])
    assert "*Deployment frequency*: 0.033 per day · new" in text
    assert "*Production deploy success rate*: 100% · new" in text


def test_all_services_card_has_a_line_per_service(bot: Stack) -> None:
    """`/metrics` alone: every catalog service has its line."""
    bot.command("", command="/metrics")
    text = card_text(card_with_chart(bot)[0])
    assert all(f"• `{name}`: " in text for name in ("web-h5", "risky", "flaky", "trade", "pay"))


def test_bad_input_is_answered_privately_and_nothing_is_posted(bot: Stack) -> None:
    """An unknown service (the known ones named), a malformed date, a range ending before it
    starts, more than 400 days: each its own message; then a good command's card is the
    only card posted."""
    answers = [
        reply_text(bot.command(text, command="/metrics"))
        for text in ("payments", "2026-02-30..2026-03-01", "2026-12-01..2026-10-01", "401d")
    ]
    assert answers[0].startswith("Unknown service `payments`, and not a period")
    assert "`web-h5`" in answers[0]
    assert answers[1:] == [
        "`2026-02-30` is not a date (YYYY-MM-DD).",
        "The period `2026-12-01..2026-10-01` ends before it starts.",
        "The period `401d` is 401 days long; keep it to 400.",
    ]
    bot.command("web-h5", command="/metrics")
    card_with_chart(bot)
    assert 1 == len(metrics_cards(bot))


# -- the digest, with two `shipbot worker` processes ------------------------------------------

DIGEST_CATALOG = """
notify:
  releases_channel: C0RELEASES
  metrics_digest: {channel: C0DIGEST, cron: "* * * * *", timezone: Asia/Shanghai}
services:
  web-h5:
    deployer: ansible
    playbook: site.yml
    environments:
      prod: {approvals: 0}
"""


@pytest.fixture
def digest_stack(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Stack]:
    """A stack of its own (its own Redis, a digest due every minute) with two workers."""
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "catalog.yaml").write_text(DIGEST_CATALOG)
    fake_slack.reset()
    with RedisServer() as redis_server:
        stack = Stack(tmp_path, redis_server, fake_slack, tmp_path / "catalog.yaml")
        stack.start()
        stack.spawn_worker("worker2")
        try:
            yield stack
        finally:
            stack.stop()


def test_worker_processes_post_the_due_digest_once(digest_stack: Stack) -> None:
    """With two workers running, the digest due this minute is posted by a worker process as
    it starts, with its chart in the card's thread, and no scheduled minute is posted twice
    (arq runs each minute's check in one worker; the claim in Redis guards the rest)."""
    slack = digest_stack.slack

    def first_with_chart() -> Message | None:
        cards = [m for m in slack.messages("C0DIGEST") if m.thread_ts is None]
        charts = {u.thread_ts for u in slack.uploads("C0DIGEST")}
        return cards[0] if cards and cards[0].ts in charts else None

    card = slack.wait_for(first_with_chart, timeout=30)
    assert "Metrics digest, scheduled for " in card_text(card)
    cards = [card_text(m) for m in slack.messages("C0DIGEST") if m.thread_ts is None]
    minutes = [re.search(r"scheduled for ([^*]+?)\\n", text) for text in cards]
    scheduled = [found.group(1) for found in minutes if found]
    assert len(cards) == len(scheduled) == len(set(scheduled))


def test_asking_where_the_bot_is_not_is_answered_directly(bot: Stack) -> None:
    """/metrics in a private channel without the bot: the worker cannot post the card there,
    so it tells the person who asked, directly."""
    bot.slack.closed_channels.add("C0PRIVATE")
    bot.command("web-h5", user="U0ASKER", command="/metrics", channel="C0PRIVATE")
    told = bot.slack.wait_for(lambda: bot.slack.messages("U0ASKER"), timeout=30)
    assert told[0].text is not None and "in <#C0PRIVATE>. Invite me" in told[0].text
    assert [] == bot.slack.uploads()
