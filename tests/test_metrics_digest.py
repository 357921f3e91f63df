"""The scheduled metrics digest: which instant is due (croniter, in the digest's time zone),
which days it covers, and, against a real redis-server and FakeSlack with time controlled by
time-machine, that of two workers ticking at the same instant exactly one posts it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pydantic
import pytest
import time_machine
from arq.connections import RedisSettings, create_pool
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.metrics_jobs import digest_tick
from bot.app.wiring import build_services
from bot.app.worker import build_worker
from bot.catalog.model import MetricsDigest, load_catalog
from bot.catalog.settings import Settings
from bot.domain.metrics.digest import digest_period, due
from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Summary
from bot.domain.services import Services
from bot.store.queue import InlineQueue
from bot.store.requests import connect
from tests.conftest import write_catalog
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer
from tests.metrics_samples import sample_summary

SHANGHAI = ZoneInfo("Asia/Shanghai")
DIGEST = MetricsDigest(channel="C0DIGEST", cron="0 9 * * MON", timezone="Asia/Shanghai")
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=SHANGHAI)  # a Monday
CATALOG = """
notify:
  releases_channel: C0RELEASES
  metrics_digest: {channel: C0DIGEST, cron: "0 9 * * MON", timezone: Asia/Shanghai}
timezone: Asia/Shanghai
services:
  web-h5:
    deployer: ansible
    playbook: site.yml
    environments:
      prod: {approvals: 0}
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


# -- which instant is due --------------------------------------------------------------------


def test_the_scheduled_instant_is_due_from_its_first_second() -> None:
    """Monday 09:00:00 Shanghai: that instant is due, and the next is a week later."""
    found = due(DIGEST, MONDAY_9.timestamp())
    assert found is not None
    assert (MONDAY_9, at(14, 9)) == (found.at, found.after)


def test_a_minute_before_nothing_is_due() -> None:
    """Monday 08:59: the instant before was a week ago, too late to post."""
    assert None is due(DIGEST, at(7, 8, 59).timestamp())


def test_a_missed_instant_is_still_due_for_a_day() -> None:
    """No worker at 09:00: at 14:00, and until 08:59 on Tuesday, Monday's digest is due;
    from 09:00 on Tuesday it is skipped."""
    found = [due(DIGEST, at(d, h, m).timestamp()) for d, h, m in ((7, 14, 0), (8, 8, 59))]
    assert [MONDAY_9, MONDAY_9] == [f.at if f else None for f in found]
    assert None is due(DIGEST, at(8, 9).timestamp())


def test_the_claim_outlives_the_window_it_can_be_taken_in() -> None:
    """A weekly digest may be taken for 24 hours; its claim lasts an hour longer."""
    found = due(DIGEST, MONDAY_9.timestamp())
    assert found is not None and 25 * 3600 == found.ttl


def test_the_digest_covers_the_whole_days_before_its_day() -> None:
    """Monday's 7d digest reads Monday to Sunday of the week before, in the catalog's zone."""
    expected = Period(date(2026, 11, 30), date(2026, 12, 6), "7d")
    assert expected == digest_period(DIGEST, "Asia/Shanghai", MONDAY_9)


def test_the_digest_period_is_checked_in_the_catalog() -> None:
    """A period that is not `Nd` (1 to 400) or `quarter` is a catalog error."""
    with pytest.raises(pydantic.ValidationError, match="invalid digest period '401d'"):
        MetricsDigest(channel="C0X", period="401d")


# -- one post per instant, however many workers ------------------------------------------------


@dataclass
class Worker:
    services: Services

    async def tick(self) -> bool:
        return await digest_tick(self.services, summarize=_summarize)


async def _summarize(services: Services, service: str | None, period: Period) -> Summary:
    """The hand-built all-services figures, over the period asked for."""
    assert service is None
    return replace(sample_summary(), period=period, previous=period.previous())


@pytest.fixture
async def workers(
    redis_server: RedisServer, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[list[Worker]]:
    """Two workers' services on one Redis (emptied) and FakeSlack (emptied)."""
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    catalog, settings = (
        load_catalog(tmp_path / "catalog.yaml"),
        Settings(redis_url=redis_server.url),
    )
    fake_slack.reset()
    redises = [connect(redis_server.url) for _ in range(2)]
    await redises[0].flushdb()
    yield [
        Worker(build_services(settings, catalog, redis, InlineQueue(), client(fake_slack)))
        for redis in redises
    ]
    for redis in redises:
        await redis.aclose()


def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url)


def cards(slack: FakeSlack) -> list[str]:
    """The digest cards' first section (the lead line and the period)."""
    return [
        m.blocks[1]["text"]["text"]
        for m in slack.messages("C0DIGEST")
        if m.blocks and m.thread_ts is None
    ]


async def test_two_workers_at_the_same_instant_post_once(
    workers: list[Worker], fake_slack: FakeSlack
) -> None:
    """Monday 09:00:00: both workers tick; one posts the card and its chart, the other not;
    a minute later neither does."""
    with time_machine.travel(MONDAY_9, tick=False):
        assert [True, False] == [await w.tick() for w in workers]
    with time_machine.travel(at(7, 9, 1), tick=False):
        assert [False, False] == [await w.tick() for w in workers]
    assert [
        "Metrics digest, scheduled for Mon 2026-12-07 09:00 CST\n"
        "*2026-11-30 to 2026-12-06* (7d), against 2026-11-23 to 2026-11-29"
    ] == [card.split("\nProduction")[0] for card in cards(fake_slack)]
    [chart] = fake_slack.uploads("C0DIGEST")
    assert chart.content is not None and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert fake_slack.messages("C0DIGEST")[0].ts == chart.thread_ts


async def test_a_digest_whose_figures_break_is_tried_again_next_minute(
    workers: list[Worker], fake_slack: FakeSlack
) -> None:
    """09:00: reading the figures breaks; nothing is posted and the claim is given up, so at
    09:01 a worker posts it, once."""

    async def broken(services: Services, service: str | None, period: Period) -> Summary:
        raise RuntimeError("a bug")

    first, second = workers
    with time_machine.travel(MONDAY_9, tick=False):
        assert False is await digest_tick(first.services, summarize=broken)
    with time_machine.travel(at(7, 9, 1), tick=False):
        assert [True, False] == [await second.tick(), await first.tick()]
    assert 1 == len(cards(fake_slack))


async def test_the_next_week_posts_again(workers: list[Worker], fake_slack: FakeSlack) -> None:
    """The instant a week later is a new claim: whichever worker ticks first posts it."""
    first, second = workers
    with time_machine.travel(MONDAY_9, tick=False):
        assert [True, False] == [await first.tick(), await second.tick()]
    with time_machine.travel(at(14, 9), tick=False):
        assert [True, False] == [await second.tick(), await first.tick()]
    assert 2 == len(cards(fake_slack))


async def test_a_worker_back_late_posts_the_missed_digest_once(
    workers: list[Worker], fake_slack: FakeSlack
) -> None:
    """Nobody ran at 09:00; the first worker back at 14:00 posts Monday's digest, late, and
    the second at 14:01 does not; Tuesday after 09:00 it is no longer posted."""
    with time_machine.travel(at(7, 14), tick=False):
        assert await workers[0].tick()
    with time_machine.travel(at(7, 14, 1), tick=False):
        assert not await workers[1].tick()
    with time_machine.travel(at(8, 9), tick=False):
        assert [False, False] == [await w.tick() for w in workers]
    assert 1 == len(cards(fake_slack))


async def test_every_worker_checks_for_the_digest_each_minute(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """arq's scheduler queues the digest check as the worker starts and then at second 0 of
    each minute (its job id per minute, so one check per minute whatever the number of
    workers)."""
    catalog = load_catalog(write_catalog(tmp_path))
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    await pool.flushdb()
    start = datetime(2026, 12, 7, 1, 0, 20, tzinfo=UTC)
    minute = datetime(2026, 12, 7, 1, 1, 0, tzinfo=UTC)
    worker = build_worker(Settings(redis_url=redis_server.url, shipbot_key_prefix="dg"), catalog)
    worker._pool = pool  # what arq sets on start; run_cron needs only this
    for tick in (start, minute):
        await worker.run_cron(tick, delay=0.5)
    queued = [job.decode() for job in await pool.zrange("dg:jobs", 0, -1)]
    await pool.aclose()
    at_minute = minute.replace(microsecond=123_456)  # arq's cron runs at .123456 by default
    expected = [f"cron:dg:digest:{int(t.timestamp() * 1000)}" for t in (start, at_minute)]
    assert expected == sorted(job for job in queued if ":digest:" in job)
