"""shipbot_slack_api_errors_total: a Slack Web API call of the notifier that fails is counted
once, by method and Slack's error code (or the transport failure's kind). FakeSlack."""

from __future__ import annotations

from prometheus_client import REGISTRY
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import DeployRequest
from handlers.notifier import SlackNotifier
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack

NAME = "shipbot_slack_api_errors_total"
REQUEST = DeployRequest(
    id="d-count", service="web-h5", environment="prod", version="v1", requester="U0DEV",
    channel="C0CLOSED", catalog_revision="abc", card_channel="C0CLOSED", card_ts="1.0",
)  # fmt: skip


def counted(method: str, error: str) -> float:
    return REGISTRY.get_sample_value(NAME, {"method": method, "error": error}) or 0.0


def notifier(base_url: str) -> SlackNotifier:
    """A notifier whose store and catalog these calls never read."""
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=base_url)
    return SlackNotifier(client, None, None)  # type: ignore[arg-type]


async def test_a_call_slack_refuses_is_counted_with_slacks_error(fake_slack: FakeSlack) -> None:
    """A thread reply in a channel the bot is not in: one not_in_channel for chat.postMessage."""
    fake_slack.reset()
    fake_slack.closed_channels.add("C0CLOSED")
    before = counted("chat.postMessage", "not_in_channel")
    await notifier(fake_slack.base_url).thread(REQUEST, "done")
    assert 1.0 == counted("chat.postMessage", "not_in_channel") - before


async def test_slack_unreachable_is_counted_by_the_failures_kind() -> None:
    """Nobody listening where Slack should be: one ClientConnectorError for chat.update."""
    before = counted("chat.update", "ClientConnectorError")
    await notifier("http://127.0.0.1:9/api/")._call("chat.update", channel="C1", ts="1.0")
    assert 1.0 == counted("chat.update", "ClientConnectorError") - before
