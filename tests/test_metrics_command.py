"""/metrics's own pieces: the job a command asks of a worker, the ack's words, and the notifier
posting a card and sharing its chart through FakeSlack (strings scrubbed, failures dropped)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.metrics_jobs import post_asked as post_asked_job
from bot.catalog.model import load_catalog
from bot.domain.metrics.ask import MetricsAsk
from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Summary
from bot.domain.services import Services
from bot.models import Workers
from bot.ports.notify import MetricsJob, Upload
from bot.ports.store import StoreUnavailable
from bot.store.requests import RedisStore, connect
from handlers.metrics import job_of, working
from handlers.metrics_post import post_asked, post_card
from handlers.notifier import SlackNotifier
from tests.conftest import write_catalog
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer
from tests.fakes.recorders import RecordingNotifier
from tests.metrics_samples import sample_summary
from tests.run_kit import build_kit

ASK = MetricsAsk("web-h5", Period(date(2026, 11, 26), date(2026, 12, 2), "7d"))
TOKEN = "glpat-Leaked0123456789abcd"


def test_the_job_carries_the_days_fixed_when_asked() -> None:
    """The worker reads the very days the ack named, even past midnight."""
    expected = MetricsJob("C0X", "U0DEV", "web-h5", "2026-11-26", "2026-12-02", "7d", "t-1")
    assert expected == job_of(ASK, "C0X", "U0DEV", "t-1")


def test_the_ack_warns_when_no_worker_is_alive() -> None:
    """With no worker, the ack says the card waits for one."""
    said = working(ASK, Workers(alive=0, last_seen=None))
    assert said.startswith("Working on it: the delivery metrics of web-h5 for 2026-11-26 to ")
    assert "No shipbot worker has ever been seen" in said
    assert "No shipbot worker" not in working(ASK, Workers(alive=1, last_seen=None))


@pytest.fixture
async def notifier(
    redis_server: RedisServer, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[SlackNotifier]:
    fake_slack.reset()
    redis = connect(redis_server.url)
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake_slack.base_url)
    yield SlackNotifier(client, RedisStore(redis), load_catalog(write_catalog(tmp_path)))
    await redis.aclose()


async def test_card_then_chart_in_its_thread(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """post_card: the card in the channel, then the chart as a reply in its thread."""
    assert await post_card(notifier, "C0METRICS", sample_summary())
    [card] = fake_slack.messages("C0METRICS")
    [chart] = fake_slack.uploads("C0METRICS")
    assert (card.ts, "shipbot-metrics-all-services-2026-12-02.png") == (
        chart.thread_ts,
        chart.filename,
    )


async def test_upload_strings_pass_the_scrubber(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """A token in a file's title or comment reaches Slack masked."""
    upload = Upload("chart.png", b"png", f"title {TOKEN}", comment=f"see {TOKEN}")
    assert await notifier.upload_file("C0X", upload)
    [shared] = fake_slack.uploads("C0X")
    assert ("title [redacted]", "see [redacted]") == (shared.title, shared.initial_comment)


async def test_a_refused_upload_is_logged_and_dropped(
    notifier: SlackNotifier, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """A channel the bot is not in: completeUploadExternal says not_in_channel; the notifier
    answers False and logs it, nothing raised."""
    fake_slack.closed_channels.add("C0SHUT")
    assert not await notifier.upload_file("C0SHUT", Upload("chart.png", b"png", "Chart"))
    assert any("not_in_channel" in r.getMessage() for r in caplog.records)


async def test_no_chart_without_its_card(notifier: SlackNotifier, fake_slack: FakeSlack) -> None:
    """The card refused (not in the channel): no chart is drawn or uploaded."""
    fake_slack.closed_channels.add("C0SHUT")
    assert not await post_card(notifier, "C0SHUT", sample_summary())
    assert [] == fake_slack.calls("files.getUploadURLExternal")


async def test_post_card_through_the_recording_notifier() -> None:
    """The ports' recorder: one card, then the chart replying to the ts the card got."""
    notifier = RecordingNotifier()
    assert await post_card(notifier, "C0X", sample_summary("web-h5"))
    [(channel, upload)] = notifier.uploads
    expected = [("C0X", "Delivery metrics: web-h5, 2026-11-03 to 2026-12-02")]
    assert (expected, "C0X", "1.000000") == (notifier.posted, channel, upload.thread_ts)


async def test_who_asked_is_told_when_the_card_is_refused(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """The bot is not in the channel: the person who asked gets a direct message saying so."""
    fake_slack.closed_channels.add("C0SHUT")
    assert not await post_asked(notifier, "U0DEV", "C0SHUT", sample_summary("web-h5"))
    [told] = fake_slack.messages("U0DEV")
    expected = (
        "I couldn't post the card you asked for (Delivery metrics: web-h5, 2026-11-03 to "
        "2026-12-02) in <#C0SHUT>. Invite me to that channel, or ask again in a channel I'm in."
    )
    assert expected == told.text


async def test_redis_unreachable_tells_who_asked(redis_server: RedisServer, tmp_path: Path) -> None:
    """The figures cannot be read (Redis unreachable): no card, and the person who asked is
    told directly to try again, instead of waiting for nothing."""
    redis = connect(redis_server.url)
    kit = build_kit(tmp_path, RedisStore(redis))

    async def unreachable(services: Services, service: str | None, period: Period) -> Summary:
        raise StoreUnavailable("connection refused")

    job = MetricsJob("C0X", "U0DEV", "web-h5", "2026-11-26", "2026-12-02", "7d")
    assert not await post_asked_job(kit.services, job, unreachable)
    expected = (
        "shipbot can't reach its state store (Redis) right now, so the delivery metrics of "
        "web-h5 for 2026-11-26 to 2026-12-02 could not be read. Please try again in a minute."
    )
    await redis.aclose()
    assert [("U0DEV", expected)] == kit.notifier.posted


async def test_a_bug_reading_the_figures_tells_who_asked(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The figures break (a bug): no card, the person who asked is told it is an internal
    error the operators can see, without its words."""
    redis = connect(redis_server.url)
    kit = build_kit(tmp_path, RedisStore(redis))

    async def broken(services: Services, service: str | None, period: Period) -> Summary:
        raise RuntimeError("secret internals")

    job = MetricsJob("C0X", "U0DEV", "", "2026-11-26", "2026-12-02", "7d")
    assert not await post_asked_job(kit.services, job, broken)
    expected = (
        "shipbot could not put together the delivery metrics of all services for 2026-11-26 "
        "to 2026-12-02 (an internal error; the operators' log says why). Please tell them."
    )
    await redis.aclose()
    assert [("U0DEV", expected)] == kit.notifier.posted
