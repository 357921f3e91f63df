"""Slack user-group membership against FakeSlack and a real redis-server: several groups asked
at once within one budget, the Redis cache first, and doubt (slow or failing Slack) is None."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.requests import RedisStore, connect
from handlers.directory import SlackDirectory
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    redis = connect(redis_server.url)
    await redis.flushdb()
    yield RedisStore(redis)
    await redis.aclose()


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.reset()
    fake_slack.usergroups.update({"S0A": ["U1"], "S0B": ["U1", "U2"], "S0C": ["U3"]})
    return fake_slack


def directory(slack: FakeSlack, store: RedisStore) -> SlackDirectory:
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url)
    return SlackDirectory(client, store)


async def test_groups_are_asked_at_once_within_one_budget(
    slack: FakeSlack, store: RedisStore
) -> None:
    """Three groups, Slack slow to list each: all three are asked before any answers."""
    slack.slow_usergroups = 0.3
    found = await directory(slack, store).groups_of("U1", ["S0A", "S0B", "S0C"])
    assert {"S0A", "S0B"} == found
    assert max(slack.usergroups_asked) < min(slack.usergroups_answered)


async def test_cached_groups_are_not_asked_again(slack: FakeSlack, store: RedisStore) -> None:
    """A second answer about the same groups comes from Redis: Slack is asked once per group."""
    await directory(slack, store).groups_of("U2", ["S0A", "S0B"])
    found = await directory(slack, store).groups_of("U2", ["S0A", "S0B"])
    assert ({"S0B"}, 2) == (found, len(slack.calls("usergroups.users.list")))


async def test_too_slow_is_none_and_the_lookup_still_fills_the_cache(
    slack: FakeSlack, store: RedisStore
) -> None:
    """Past the budget the answer is None (fail closed); the lookup goes on and caches the
    group, so asking again a moment later is answered."""
    slack.slow_usergroups = 0.5
    slow = directory(slack, store)
    assert None is await slow.groups_of("U1", ["S0A"], seconds=0.1)
    await asyncio.sleep(0.8)
    assert {"S0A": {"U1"}} == await store.cached_groups(["S0A"])


async def test_an_unknown_group_is_none(slack: FakeSlack, store: RedisStore) -> None:
    """Slack failing for one group (no_such_subteam) makes the whole answer None."""
    assert None is await directory(slack, store).groups_of("U1", ["S0A", "S0NOPE"])


async def test_warming_caches_every_group(slack: FakeSlack, store: RedisStore) -> None:
    """warm() looks the groups up ahead of need."""
    await directory(slack, store).warm(["S0A", "S0C"])
    assert {"S0A": {"U1"}, "S0C": {"U3"}} == await store.cached_groups(["S0A", "S0B", "S0C"])
