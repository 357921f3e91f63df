"""Slash commands answered without Bolt's dispatch give what Bolt's dispatch gives: the ack, or
a 500 when the listener failed (handlers/direct.py)."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.direct import DirectCommands
from handlers.guard import Listener

BODY = {"command": "/deploy", "text": "web-h5 v1 to prod", "user_id": "U0DEV", "channel_id": "C1"}


async def acks_text(ack: Any, body: dict[str, Any]) -> None:
    await ack(response_type="ephemeral", text=f"asked: {body['text']}")


async def acks_nothing(ack: Any, body: dict[str, Any]) -> None:
    """Returns without acking."""


async def fails(ack: Any, body: dict[str, Any]) -> None:
    raise RuntimeError("a bug")


async def through_bolt(listener: Listener, body: dict[str, Any]) -> BoltResponse:
    identity = AuthorizeResult(enterprise_id=None, team_id="T0", bot_user_id="U0B", bot_id="B0")

    async def authorize() -> AuthorizeResult:
        return identity

    app = AsyncApp(
        signing_secret="unused",
        process_before_response=True,
        authorize=authorize,
        request_verification_enabled=False,
    )
    app.command("/deploy")(listener)
    return await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))


@pytest.mark.parametrize("listener", [acks_text, fails])
async def test_the_answer_is_bolts(listener: Listener) -> None:
    """Same status, body and content type as Bolt's dispatch of the same command."""
    direct = DirectCommands({"/deploy": listener})
    found = direct.listener_for(BODY)
    assert found is listener
    ours, bolts = await direct.answer(found, BODY), await through_bolt(listener, BODY)
    assert (bolts.status, bolts.body, bolts.headers) == (ours.status, ours.body, ours.headers)


async def test_a_listener_that_did_not_ack_gets_an_empty_200() -> None:
    """shipbot's listeners always ack (guarded() makes sure); were one not to, Slack gets an
    empty 200 rather than Bolt's "unhandled request"."""
    direct = DirectCommands({"/deploy": acks_nothing})
    answered = await direct.answer(acks_nothing, BODY)
    assert (200, "") == (answered.status, answered.body)


def test_other_requests_are_left_to_bolt() -> None:
    """A command without a listener here, or a click, has none: Bolt answers it."""
    direct = DirectCommands({"/deploy": acks_text})
    clicked = {"type": "block_actions", "actions": [{"action_id": "x"}]}
    assert (None, None) == (
        direct.listener_for({**BODY, "command": "/metrics"}),
        direct.listener_for(clicked),
    )
