"""Approve, Cancel and Stop: one call into bot/, ack, tell the clicker, refresh the card
(Reject asks why first: handlers/reject.py).

A decision may wait on Slack (who is in an approvers' user group, when the cache has not got
it). Slack wants its answer within 3 seconds, so a decision not made within DECIDE_SECONDS is
finished after the ack: the person is told at once that it is under way, and then its outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain import approvals
from bot.domain.approvals import Outcome
from bot.domain.services import Services
from bot.ports.store import StoreUnavailable
from handlers.background import Background
from handlers.directory import CLICK_BUDGET_SECONDS, patience
from handlers.guard import INTERNAL, STORE_DOWN, delivery_key, guarded, where
from handlers.outcomes import carry_out
from handlers.routes import APPROVE, CANCEL, STOP

log = logging.getLogger(__name__)
Decide = Callable[[Services, str, str, str], Awaitable[Outcome]]
DECIDE_SECONDS = 1.5  # longer than this, the decision is finished after the ack
CHECKING = (
    "Checking your user groups with Slack is taking a moment; your click is being counted "
    "and I'll tell you here when it's done."
)
DONE = "Done: your decision is recorded, and the card shows it."


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

        async def decided() -> Outcome:
            patience.set(CLICK_BUDGET_SECONDS)  # finished after the ack if need be
            outcome = await decide(services, request_id, user, delivery_key(body))
            await carry_out(services, later, request_id, outcome)
            return outcome

        deciding = asyncio.ensure_future(decided())
        done, _ = await asyncio.wait({deciding}, timeout=DECIDE_SECONDS)
        if deciding not in done:  # Slack is slow: answer now, finish after
            await ack()
            later.spawn(services.notifier.tell(channel, user, CHECKING))
            later.spawn(_finish(services, deciding, channel, user))
            return
        outcome = deciding.result()
        await ack()
        if outcome.say:
            later.spawn(services.notifier.tell(channel, user, outcome.say))

    button.__name__ = decide.__name__
    return button


async def _finish(
    services: Services, deciding: asyncio.Future[Outcome], channel: str, user: str
) -> None:
    """A decision finished after the ack: tell the person how it ended."""
    try:
        outcome = await deciding
    except StoreUnavailable:
        log.warning("Redis unavailable while finishing a decision")
        await services.notifier.tell(channel, user, STORE_DOWN)
        return
    except Exception:
        log.exception("a decision finished after the ack failed")
        await services.notifier.tell(channel, user, INTERNAL)
        return
    await services.notifier.tell(channel, user, outcome.say or DONE)
