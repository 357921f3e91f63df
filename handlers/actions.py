"""Approve, Reject, Cancel and Stop: one call into bot/, ack, tell the clicker, refresh the card."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import approvals
from bot.approvals import Outcome
from bot.requests import hand_over
from bot.services import Services
from handlers.background import Background
from handlers.guard import delivery_key, guarded, where
from handlers.routes import APPROVE, CANCEL, REJECT, STOP

Decide = Callable[[Services, str, str, str], Awaitable[Outcome]]


def register(app: AsyncApp, services: Services, later: Background) -> None:
    buttons = {
        APPROVE: approvals.approve,
        REJECT: approvals.reject,
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
        if outcome.start:
            await hand_over(services, outcome.start, start_now=True)
        await ack()
        if outcome.say:
            later.spawn(services.notifier.tell(channel, user, outcome.say))
        if outcome.refresh:
            later.spawn(services.notifier.show(request_id))
        elif outcome.start == request_id:  # a worker owns the card now, if one is alive
            later.spawn(_show_if_no_worker(services, request_id))

    button.__name__ = decide.__name__
    return button


async def _show_if_no_worker(services: Services, request_id: str) -> None:
    """Nobody will update the card of a request that is to start while no worker is alive:
    the bot does, so that it says it is queued and that no worker runs."""
    if not (await services.store.workers()).alive:
        await services.notifier.show(request_id)
