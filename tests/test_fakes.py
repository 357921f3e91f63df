"""The test fakes answer like the real things, as seen through the real client libraries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_SIGNING_SECRET,
    Call,
    FakeSlack,
    RedisServer,
    block_action,
    slash_command,
)
from tests.waiting import until

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*deploying*"}}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack(server: FakeSlack) -> FakeSlack:
    server.reset()
    return server


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url)


# -- FakeSlack: Web API answers -------------------------------------------------------------


async def test_auth_test_answers_the_bot_identity(client: AsyncWebClient) -> None:
    """auth.test names the bot user and bot id shipbot will see as itself."""
    response = await client.auth_test()
    assert (
        response["user_id"],
        response["bot_id"],
        response["team_id"],
    ) == ("U0SHIPBOT", "B0SHIPBOT", "T0FAKE")


async def test_post_message_answers_channel_ts_and_message(client: AsyncWebClient) -> None:
    """chat.postMessage echoes the channel and returns the message with its ts and blocks."""
    response = await client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS)
    message = response["message"]
    assert (response["channel"], message["ts"], message["blocks"]) == ("C1", response["ts"], BLOCKS)


async def test_post_message_timestamps_increase(client: AsyncWebClient) -> None:
    """Each posted message gets a new, larger ts."""
    first = await client.chat_postMessage(channel="C1", text="one")
    second = await client.chat_postMessage(channel="C1", text="two")
    assert float(first["ts"]) < float(second["ts"])


async def test_post_message_records_the_call(slack: FakeSlack, client: AsyncWebClient) -> None:
    """The call is recorded with its arguments (blocks as objects) and the bearer token."""
    await client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS, thread_ts="1.2")
    expected = Call(
        "chat.postMessage",
        {"channel": "C1", "text": "hi", "blocks": BLOCKS, "thread_ts": "1.2"},
        DEFAULT_BOT_TOKEN,
    )
    assert slack.calls("chat.postMessage") == [expected]


async def test_form_encoded_post_is_decoded_like_json(slack: FakeSlack) -> None:
    """A form-encoded post with a token field and blocks as a JSON string reads the same."""
    form = {"token": DEFAULT_BOT_TOKEN, "channel": "C1", "blocks": '[{"type": "divider"}]'}
    async with httpx.AsyncClient() as http:
        await http.post(slack.base_url + "chat.postMessage", data=form)
    assert slack.messages("C1")[0].blocks == [{"type": "divider"}]


async def test_update_changes_the_message(slack: FakeSlack, client: AsyncWebClient) -> None:
    """chat.update replaces the text of the posted message that messages() reports."""
    posted = await client.chat_postMessage(channel="C1", text="queued", blocks=BLOCKS)
    await client.chat_update(channel="C1", ts=posted["ts"], text="running")
    assert [(m.text, m.blocks) for m in slack.messages("C1")] == [("running", BLOCKS)]


async def test_updates_of_lists_updates_of_one_message(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """updates_of returns only the chat.update calls aimed at that message."""
    first = await client.chat_postMessage(channel="C1", text="a")
    second = await client.chat_postMessage(channel="C1", text="b")
    await client.chat_update(channel="C1", ts=first["ts"], text="a2")
    await client.chat_update(channel="C1", ts=second["ts"], text="b2")
    assert [c.args["text"] for c in slack.updates_of("C1", first["ts"])] == ["a2"]


async def test_update_of_unknown_ts_is_message_not_found(client: AsyncWebClient) -> None:
    """chat.update of a ts never posted in that channel fails with message_not_found."""
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert raised.value.response["error"] == "message_not_found"


async def test_post_ephemeral_answers_message_ts(client: AsyncWebClient) -> None:
    """chat.postEphemeral answers ok with a message_ts."""
    response = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert response["message_ts"]


async def test_usergroup_users_come_from_configuration(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """usergroups.users.list lists the members the test configured."""
    slack.usergroups["S0CHANGE"] = ["U1", "U2"]
    response = await client.usergroups_users_list(usergroup="S0CHANGE")
    assert response["users"] == ["U1", "U2"]


async def test_unknown_usergroup_is_no_such_subteam(client: AsyncWebClient) -> None:
    """An unconfigured user group fails with no_such_subteam."""
    with pytest.raises(SlackApiError) as raised:
        await client.usergroups_users_list(usergroup="S0NOPE")
    assert raised.value.response["error"] == "no_such_subteam"


async def test_wrong_token_is_invalid_auth(slack: FakeSlack) -> None:
    """A token other than the bot's fails with invalid_auth."""
    client = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "invalid_auth"


async def test_missing_token_is_not_authed(slack: FakeSlack) -> None:
    """No token at all fails with not_authed, as Slack answers."""
    client = AsyncWebClient(base_url=slack.base_url)
    with pytest.raises(SlackApiError) as raised:
        await client.auth_test()
    assert raised.value.response["error"] == "not_authed"


async def test_unknown_method_is_unknown_method(client: AsyncWebClient) -> None:
    """A method the fake does not implement fails with unknown_method."""
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.frobnicate")
    assert raised.value.response["error"] == "unknown_method"


async def test_rate_limit_answers_429_with_retry_after(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    """While rate limited, calls get HTTP 429, Retry-After and error ratelimited."""
    slack.rate_limit_next(1, retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        await client.auth_test()
    response = raised.value.response
    assert (
        response.status_code,
        response.headers["Retry-After"],
        response["error"],
    ) == (429, "7", "ratelimited")


async def test_rate_limit_ends_after_n_calls(slack: FakeSlack) -> None:
    """slack_sdk's rate-limit retry handler gets through once the n limited calls are spent."""
    slack.rate_limit_next(2, retry_after=0)
    handler = AsyncRateLimitErrorRetryHandler(max_retry_count=2)
    client = AsyncWebClient(DEFAULT_BOT_TOKEN, base_url=slack.base_url, retry_handlers=[handler])
    response = await client.chat_postMessage(channel="C1", text="hi")
    assert (response["ok"], len(slack.calls())) == (True, 1)


async def test_response_url_post_is_recorded(slack: FakeSlack) -> None:
    """A post to a response_url is recorded and answered 200 "ok"."""
    webhook = AsyncWebhookClient(slack.response_url("cmd1"))
    response = await webhook.send(text="done", replace_original=True)
    call = Call("response_url", {"text": "done", "replace_original": True}, None)
    assert (response.status_code, response.body, slack.calls()) == (200, "ok", [call])


# -- FakeSlack: assertion helpers -----------------------------------------------------------


def test_wait_for_returns_the_truthy_value(slack: FakeSlack) -> None:
    """wait_for returns what the predicate returned once it is truthy."""
    assert slack.wait_for(lambda: [1], timeout=0.1) == [1]


def test_wait_for_timeout_dumps_the_calls(slack: FakeSlack) -> None:
    """On timeout wait_for raises AssertionError listing what the fake received."""
    httpx.post(slack.base_url + "auth.test", data={"token": DEFAULT_BOT_TOKEN})
    with pytest.raises(AssertionError, match=r"auth\.test"):
        slack.wait_for(lambda: slack.calls("chat.postMessage"), timeout=0.05)


# -- signing --------------------------------------------------------------------------------


def _verifies(request, secret: str = DEFAULT_SIGNING_SECRET) -> bool:
    verifier = SignatureVerifier(secret)
    return verifier.is_valid_request(request.body, request.headers)


def test_slash_command_signature_verifies() -> None:
    """slack_sdk's SignatureVerifier accepts a signed slash command."""
    assert _verifies(slash_command("/deploy", "web-h5 v1 prod", "U1"))


def test_block_action_signature_verifies() -> None:
    """slack_sdk's SignatureVerifier accepts a signed button click."""
    assert _verifies(block_action("U1", "approve", "req-1", "1700000000.000100"))


def test_signature_fails_with_another_secret() -> None:
    """A request signed with one secret does not verify with another."""
    assert not _verifies(slash_command("/deploy", "x", "U1"), secret="other")


def test_stale_timestamp_fails_verification() -> None:
    """A request stamped ten minutes ago is rejected as stale."""
    request = slash_command("/deploy", "x", "U1", timestamp=int(time.time()) - 600)
    assert not _verifies(request)


def test_extra_headers_are_added() -> None:
    """Extra headers (a Slack retry) are sent alongside the signature."""
    request = slash_command("/deploy", "x", "U1", extra_headers={"X-Slack-Retry-Num": "1"})
    assert request.headers["X-Slack-Retry-Num"] == "1"


def test_trigger_ids_are_unique() -> None:
    """Two requests built with defaults carry different trigger_ids."""
    first, second = (slash_command("/deploy", "x", "U1").form() for _ in range(2))
    assert first["trigger_id"] != second["trigger_id"]


def test_block_action_container_points_at_the_message() -> None:
    """The block_actions payload's container names the clicked message and channel."""
    payload = block_action("U1", "approve", "req-1", "1.000100", channel_id="C9").payload()
    expected = {"type": "message", "message_ts": "1.000100", "channel_id": "C9"}
    assert payload["container"] == expected | {"is_ephemeral": False}


async def test_bolt_routes_signed_requests_to_listeners(slack: FakeSlack) -> None:
    """A Bolt AsyncApp verifies both signed requests and routes them to its listeners."""
    seen: list[str] = []
    app = AsyncApp(
        signing_secret=DEFAULT_SIGNING_SECRET,
        client=AsyncWebClient(DEFAULT_BOT_TOKEN, base_url=slack.base_url),
    )

    @app.command("/deploy")
    async def on_deploy(ack, command) -> None:
        await ack()
        seen.append(command["text"])

    @app.action("approve")
    async def on_approve(ack, action) -> None:
        await ack()
        seen.append(action["value"])

    for request in (
        slash_command("/deploy", "web-h5 v1 prod", "U1"),
        block_action("U1", "approve", "req-1", "1.000100"),
    ):
        response = await app.async_dispatch(_bolt_request(request))
        assert response.status == 200
    assert seen == ["web-h5 v1 prod", "req-1"]


def _bolt_request(request) -> AsyncBoltRequest:
    return AsyncBoltRequest(body=request.body.decode(), headers=request.headers)


# -- RedisServer ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def test_redis_server_is_private(redis_server: RedisServer) -> None:
    """The server answers on its own port, never the system Redis port."""
    client = redis.Redis.from_url(redis_server.url)
    assert (client.ping(), redis_server.url.endswith(":6379/0")) == (True, False)


def test_redis_restart_keeps_data(redis_server: RedisServer) -> None:
    """Data written before a restart is read back from the append-only file."""
    redis.Redis.from_url(redis_server.url).set("shipbot:test", "kept")
    redis_server.restart()
    assert redis.Redis.from_url(redis_server.url).get("shipbot:test") == b"kept"


async def test_usergroup_users_can_be_held(slack: FakeSlack, client: AsyncWebClient) -> None:
    """While usergroups_held, usergroups.users.list is asked but not answered (outstanding);
    let go, it answers. Both are recorded, in order."""
    slack.usergroups["S0CHANGE"] = ["U1"]
    slack.usergroups_held = True
    asking = asyncio.create_task(client.usergroups_users_list(usergroup="S0CHANGE"))
    await until(lambda: slack.usergroups_outstanding(), "the lookup asked")
    assert (1, [("asked", "S0CHANGE")], False) == (
        slack.usergroups_outstanding(),
        slack.usergroup_events,
        asking.done(),
    )
    slack.usergroups_held = False
    assert ["U1"] == (await asking)["users"]
    assert [("asked", "S0CHANGE"), ("answered", "S0CHANGE")] == slack.usergroup_events
    assert 0 == slack.usergroups_outstanding()
