"""Approve, Cancel and Stop: one call into bot/, ack, tell the clicker, refresh the card
(Reject asks why first: handlers/reject.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain import approvals
from bot.domain.approvals import Outcome
from bot.domain.services import Services
from handlers.background import Background
from handlers.guard import delivery_key, guarded, where
from handlers.outcomes import carry_out
from handlers.routes import APPROVE, CANCEL, STOP

Decide = Callable[[Services, str, str, str], Awaitable[Outcome]]


def register(app: AsyncApp, services: Services, later: Background) -> None:
    buttons = {
        APPROVE: approvals.approve,
        CANCEL: approvals.cancel,
        STOP: approvals.stop,
    }
    for action_id, decide in buttons.items():
        app.action(action_id)(guarded(_button(services, later, decide), services.notifier))


def _button(services: Services, later: Background, decide: Decide) -> Any:
    async def button(ack: Any, body: dict[str, Any]) -> None:
        request_id = (body.get("actions") or [{}])[0].get("value", "")
        channel, user = where(body)
        outcome = await decide(services, request_id, user, delivery_key(body))
        await carry_out(services, later, request_id, outcome)
        await ack()
        if outcome.say:
            later.spawn(services.notifier.tell(channel, user, outcome.say))

    button.__name__ = decide.__name__
    return button
