"""End to end over Socket Mode: `shipbot socket` and `shipbot worker` as real processes, linked
to FakeSlack's Socket Mode, with a private redis-server and real playbooks run against localhost.

This module overrides the `stack` fixture, so conftest's `bot` (empty Redis, quiet FakeSlack,
no marker lines) gives these tests the Socket Mode stack. It has its own redis-server and
FakeSlack: arq's queue name is the same in every stack, so on a shared Redis the HTTP stack's
worker could take these jobs and write the marker lines into its own workdir.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.conftest import marker_lines, write_catalog
from tests.fakes import (
    APP_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    Ack,
    FakeSlack,
    RedisServer,
    block_action,
    slash_command,
)
from tests.stack import CHANNEL, Stack

APPROVE = "shipbot_approve"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("shipbot-socket")
    with RedisServer() as redis_server, FakeSlack() as slack:
        running = Stack(workdir, redis_server, slack, write_catalog(workdir)).start_socket()
        yield running
        running.stop()


def command(bot: Stack, text: str, user: str = "U0DEV", name: str = "/deploy") -> Ack:
    """Send a slash command envelope and return shipbot's ack of it."""
    envelope_id = bot.slack.socket.send_slash_command(slash_command(name, text, user).form())
    return bot.slack.socket.wait_for_ack(envelope_id)


def request_id_in(ack: Ack) -> str:
    text = str((ack.payload or {}).get("text", ""))
    found = re.search(r"`(d-[a-z0-9]+)`", text)
    assert found, f"no request id in the ack {ack.payload!r}"
    return found.group(1)


def click(bot: Stack, action_id: str, request_id: str, user: str) -> Ack:
    """Click a button on the request's card through an interactive envelope."""
    card = bot.card(request_id)
    payload = block_action(user, action_id, request_id, card.ts, CHANNEL).payload()
    return bot.slack.socket.wait_for_ack(bot.slack.socket.send_interactive(payload))


# -- shipbot socket ---------------------------------------------------------------------------


def test_slash_command_ack_is_the_answer_naming_the_request(bot: Stack) -> None:
    """The ack carries the ephemeral answer, naming the request the posted card tracks."""
    ack = command(bot, "web-h5 v2.3.1 to prod")
    request_id = request_id_in(ack)
    cards = bot.slack.wait_for(lambda: [m for m in bot.slack.messages(CHANNEL) if m.blocks])
    shown = ((ack.payload or {}).get("response_type"), request_id in json.dumps(cards[0].blocks))
    assert ("ephemeral", True) == shown


def test_staging_deploys_at_once_without_approval(bot: Stack) -> None:
    """With approvals: 0 the playbook runs right away with the requested version."""
    request_id = request_id_in(command(bot, "web-h5 v1.4.0 to staging"))
    bot.wait_card(request_id, "Deployed in")
    assert [f"web-h5 v1.4.0 staging - deploy {request_id}"] == marker_lines(bot)


def test_approve_click_counts_one_approval(bot: Stack) -> None:
    """An Approve click from a listed approver moves the prod card to "1 of 2"."""
    request_id = request_id_in(command(bot, "web-h5 v2.3.1 to prod"))
    bot.wait_card(request_id, "Waiting for approval")
    click(bot, APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "1 of 2")
    assert [] == marker_lines(bot)


def test_socket_without_app_token_says_so_and_exits(tmp_path: Path) -> None:
    """`shipbot socket` without SLACK_APP_TOKEN prints one line naming it and exits non-zero."""
    env = {k: v for k, v in os.environ.items() if k != "SLACK_APP_TOKEN"}
    env |= {
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SHIPBOT_CATALOG": str(write_catalog(tmp_path)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "socket"], env=env, capture_output=True, timeout=30
    )
    expected = ["shipbot: missing settings: SLACK_APP_TOKEN (see the README)"]
    assert (1, expected) == (done.returncode, done.stderr.decode().splitlines())


def test_socket_with_a_refused_app_token_says_why_and_exits(tmp_path: Path, stack: Stack) -> None:
    """A wrong SLACK_APP_TOKEN stops `shipbot socket` at once with Slack's reason."""
    env = {
        **stack.env(),
        "SLACK_APP_TOKEN": "xapp-wrong",
        "SHIPBOT_CATALOG": str(write_catalog(tmp_path)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "socket"], env=env, capture_output=True, timeout=30
    )
    expected = "shipbot: Slack refused SLACK_APP_TOKEN (invalid_auth)"
    assert (1, expected) == (done.returncode, done.stderr.decode().splitlines()[-1])


# -- FakeSlack's Socket Mode, as slack_sdk's own client sees it -------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
async def linked(fake: FakeSlack) -> AsyncIterator[SocketModeClient]:
    """slack_sdk's aiohttp SocketModeClient (the one Bolt's async handler uses), acking
    every envelope with {"text": "got <type>"}."""
    fake.reset()
    client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN, web_client=AsyncWebClient(base_url=fake.base_url)
    )

    async def answer(client: SocketModeClient, request: SocketModeRequest) -> None:
        reply = SocketModeResponse(request.envelope_id, payload={"text": f"got {request.type}"})
        await client.send_socket_mode_response(reply)

    client.socket_mode_request_listeners.append(answer)  # type: ignore[arg-type]
    await client.connect()
    yield client
    await client.close()


async def link_url(fake: FakeSlack) -> str:
    """What apps.connections.open answers to the app-level token."""
    client = AsyncWebClient(base_url=fake.base_url)
    return str((await client.apps_connections_open(app_token=DEFAULT_APP_TOKEN))["url"])


async def test_connections_open_answers_a_link_url(fake: FakeSlack) -> None:
    """apps.connections.open with the app-level token answers a ws:// /link/ URL."""
    url = await link_url(fake)
    assert re.fullmatch(rf"ws://127\.0\.0\.1:\d+/link/\?ticket=\w+&app_id={APP_ID}", url), url


@pytest.mark.parametrize(
    ("token", "error"),
    [(DEFAULT_BOT_TOKEN, "not_allowed_token_type"), ("xapp-wrong", "invalid_auth")],
)
async def test_connections_open_refuses_other_tokens(
    fake: FakeSlack, token: str, error: str
) -> None:
    """A bot token is the wrong type of token; an unknown app token is invalid_auth."""
    client = AsyncWebClient(base_url=fake.base_url)
    with pytest.raises(SlackApiError) as raised:
        await client.apps_connections_open(app_token=token)
    assert error == raised.value.response["error"]


async def test_a_new_link_is_greeted_with_hello(fake: FakeSlack) -> None:
    """The first message on a link is hello, with the connection count and the app id."""
    url, before = await link_url(fake), fake.socket.connections()
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=5)
    shown = (hello["type"], hello["num_connections"], hello["connection_info"])
    assert ("hello", before + 1, {"app_id": APP_ID}) == shown


async def test_a_link_without_a_ticket_is_refused(fake: FakeSlack) -> None:
    """Connecting to /link/ with a ticket apps.connections.open never issued fails."""
    url = fake.base_url.replace("http", "ws", 1).replace("/api/", "/link/?ticket=forged")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
            await session.ws_connect(url)
    assert 403 == raised.value.status


async def test_envelopes_are_acked_with_their_payload(
    fake: FakeSlack, linked: SocketModeClient
) -> None:
    """The client's ack of a slash command envelope is recorded with its payload."""
    payload = slash_command("/deploy", "web-h5 v1 staging", "U0DEV").form()
    envelope_id = await asyncio.to_thread(fake.socket.send_slash_command, payload)
    ack = await asyncio.to_thread(fake.socket.wait_for_ack, envelope_id)
    assert Ack(envelope_id, {"text": "got slash_commands"}) == ack


async def test_disconnect_makes_the_client_link_again(
    fake: FakeSlack, linked: SocketModeClient
) -> None:
    """After a disconnect message the client opens a new link and keeps acking there."""
    opened = fake.socket.opened
    await asyncio.to_thread(fake.socket.disconnect)
    await asyncio.to_thread(fake.socket.wait_opened, opened + 1)
    payload = block_action("U0ALICE", APPROVE, "d-1", "1.2").payload()
    envelope_id = await asyncio.to_thread(fake.socket.send_interactive, payload)
    ack = await asyncio.to_thread(fake.socket.wait_for_ack, envelope_id)
    assert {"text": "got interactive"} == ack.payload
