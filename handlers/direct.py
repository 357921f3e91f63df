"""Slash commands answered without Bolt's dispatch, on the HTTP path.

The HTTP gate (bot/app/slack_gate.py) has already checked the signature and parsed the command,
and shipbot's command listeners need nothing from Bolt but ``ack`` and the body: no client, no
authorization result, no listener middleware. So a command that has a listener here is answered
by calling that listener with Bolt's own ``AsyncAck``, as Bolt would with
``process_before_response`` (the ack is the answer; an error is a 500, logged), without running
Bolt's middleware, matching every listener and injecting arguments first. ``guarded`` listeners
always ack; were one not to, the answer is an empty 200. Every other request, and every request
in Socket Mode and the console, goes through Bolt.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.response import BoltResponse

from bot.scrub import escaped
from handlers.guard import Listener

log = logging.getLogger(__name__)


class DirectCommands:
    """The slash commands to answer without Bolt's dispatch, by command."""

    def __init__(self, listeners: Mapping[str, Listener]) -> None:
        self.listeners = dict(listeners)

    def listener_for(self, body: dict[str, Any]) -> Listener | None:
        """The listener of this slash command; None for anything else (Bolt's then)."""
        command = body.get("command")
        return self.listeners.get(command) if isinstance(command, str) else None

    async def answer(self, listener: Listener, body: dict[str, Any]) -> BoltResponse:
        ack = AsyncAck()  # type: ignore[no-untyped-call]  # Bolt leaves __init__ untyped
        try:
            await listener(ack=ack, body=body)
        except Exception:  # guarded() turns the listener's errors into answers: a bug in it
            who = escaped(f"{body.get('command')} from {body.get('user_id')}"[:120])
            log.exception("the listener of %s failed", who)
            return BoltResponse(status=500, body="")
        return ack.response or await ack()
