"""Slack user-group membership against FakeSlack and a real redis-server: several groups asked
at once within one budget, the Redis cache first, and doubt (slow or failing Slack) is None.
Slack's answers are held back and let go by the test, so nothing here depends on timing."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.requests import RedisStore
from handlers.directory import SlackDirectory
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack
from tests.waiting import until


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
    """Three groups, Slack holding each answer back: all three are asked before any answers
    (asked one by one, the second would never be)."""
    slack.usergroups_held = True
    asking = asyncio.create_task(directory(slack, store).groups_of("U1", ["S0A", "S0B", "S0C"]))
    await until(lambda: slack.usergroups_outstanding() == 3, "all three groups asked at once")
    slack.usergroups_held = False
    assert {"S0A", "S0B"} == await asking
    assert {"asked"} == {kind for kind, _ in slack.usergroup_events[:3]}


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
    slack.usergroups_held = True
    slow = directory(slack, store)
    assert None is await slow.groups_of("U1", ["S0A"], seconds=0.1)
    await until(lambda: slack.usergroups_outstanding() == 1, "the lookup still under way")
    slack.usergroups_held = False
    cached = await until(lambda: store.cached_groups(["S0A"]), "the late answer cached")
    assert {"S0A": {"U1"}} == cached


async def test_an_unknown_group_is_none(slack: FakeSlack, store: RedisStore) -> None:
    """Slack failing for one group (no_such_subteam) makes the whole answer None."""
    assert None is await directory(slack, store).groups_of("U1", ["S0A", "S0NOPE"])


async def test_warming_caches_every_group(slack: FakeSlack, store: RedisStore) -> None:
    """warm() looks the groups up ahead of need."""
    await directory(slack, store).warm(["S0A", "S0C"])
    assert {"S0A": {"U1"}, "S0C": {"U3"}} == await store.cached_groups(["S0A", "S0B", "S0C"])
