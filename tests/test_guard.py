"""handlers/guard.py: the one wrapper around every listener scrubs what it acks and survives
bodies of any shape."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.models import DeployRequest
from handlers.guard import INTERNAL, NO_SENDER, delivery_key, guarded, where


class Told:
    """A Notifier that records what it is asked to tell."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str, str]] = []

    async def tell(self, channel: str, user: str, text: str) -> None:
        self.told.append((channel, user, text))

    async def show(self, request_id: str, *, final: bool = False) -> None: ...

    async def thread(self, request: DeployRequest, text: str) -> None: ...

    async def release_note(self, request_id: str) -> None: ...

    async def released(self, request: DeployRequest) -> None: ...

    async def undone(self, request_id: str, by: DeployRequest) -> None: ...


SENDER = {"user_id": "U0DEV", "channel_id": "C0DEPLOY"}


def acked_text(ack: AsyncAck) -> str:
    assert ack.response is not None
    return str(json.loads(str(ack.response.body))["text"])


async def test_ack_text_passes_through_the_scrubber() -> None:
    """A listener's ack text reaches Slack with token-like strings redacted."""

    async def echo(ack: Any, body: dict[str, Any]) -> None:
        await ack(response_type="ephemeral", text=f"Unknown service `{body['text']}`")

    ack = AsyncAck()
    body = {"command": "/deploy", "text": "xoxb-1234-abcdef", **SENDER}
    await guarded(echo, Told())(ack, body)
    assert "Unknown service `[redacted]`" == acked_text(ack)


async def test_positional_ack_text_is_scrubbed_too() -> None:
    """ack("...") with the text as its first argument is scrubbed as well."""

    async def echo(ack: Any, body: dict[str, Any]) -> None:
        await ack("token glpat-abcdefghijklmnop")

    ack = AsyncAck()
    await guarded(echo, Told())(ack, {"command": "/deploy", **SENDER})
    assert ack.response is not None and "token [redacted]" == ack.response.body


def test_where_reads_nothing_from_fields_of_the_wrong_shape() -> None:
    """user or channel that are not objects give empty ids instead of raising."""
    assert ("", "") == where({"user": "U0ALICE", "channel": ["C0DEPLOY"]})


def test_delivery_key_ignores_actions_of_the_wrong_shape() -> None:
    """actions that is not a list of objects leaves the key to the trigger alone."""
    assert "t1" == delivery_key({"trigger_id": "t1", "actions": {"action_ts": "1"}})
    assert "t1" == delivery_key({"trigger_id": "t1", "actions": ["x", 3]})


async def test_error_path_survives_a_malformed_click() -> None:
    """A failing listener on a click whose channel is a string: the clicker is acked and the
    guard's own error path does not raise."""

    async def broken(ack: Any, body: dict[str, Any]) -> None:
        raise RuntimeError("bug")

    notifier, ack = Told(), AsyncAck()
    await guarded(broken, notifier)(ack, {"user": {"id": "U0ALICE"}, "channel": "C0DEPLOY"})
    assert ack.response is not None and [("", "U0ALICE", INTERNAL)] == notifier.told


async def test_a_command_without_a_user_is_refused_before_its_listener() -> None:
    """A slash command without user_id (Socket Mode has no gate before Bolt): the person is
    told nothing was done, and the listener never runs."""
    ran: list[str] = []

    async def listener(ack: Any, body: dict[str, Any]) -> None:
        ran.append("ran")

    ack = AsyncAck()
    await guarded(listener, Told())(ack, {"command": "/deploy", "channel_id": "C0DEPLOY"})
    assert ([], NO_SENDER) == (ran, acked_text(ack))
