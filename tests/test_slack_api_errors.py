"""shipbot_slack_api_errors_total: a Slack Web API call of the notifier that fails is counted
once in the store's running tally, by method and Slack's error code (or the transport failure's
kind), so a scrape of any replica shows every process's. FakeSlack, a real redis-server."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.models import DeployRequest
from bot.store.requests import RedisStore
from handlers.notifier import SlackNotifier
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack

REQUEST = DeployRequest(
    id="d-count", service="web-h5", environment="prod", version="v1", requester="U0DEV",
    channel="C0CLOSED", catalog_revision="abc", card_channel="C0CLOSED", card_ts="1.0",
)  # fmt: skip


def notifier(base_url: str, store: RedisStore) -> SlackNotifier:
    """A notifier whose catalog these calls never read."""
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=base_url)
    return SlackNotifier(client, store, None)  # type: ignore[arg-type]


async def test_a_call_slack_refuses_is_counted_with_slacks_error(
    fake_slack: FakeSlack, store: RedisStore
) -> None:
    """A thread reply in a channel the bot is not in: one not_in_channel for chat.postMessage."""
    fake_slack.reset()
    fake_slack.closed_channels.add("C0CLOSED")
    await notifier(fake_slack.base_url, store).thread(REQUEST, "done")
    assert {("chat.postMessage", "not_in_channel"): 1} == (await store.tally()).slack_errors


async def test_slack_unreachable_is_counted_by_the_failures_kind(store: RedisStore) -> None:
    """Nobody listening where Slack should be: one ClientConnectorError for chat.update."""
    slack = notifier("http://127.0.0.1:9/api/", store)
    await slack._call("chat.update", channel="C1", ts="1.0")
    assert {("chat.update", "ClientConnectorError"): 1} == (await store.tally()).slack_errors
