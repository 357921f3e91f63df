"""What follows a decision on a request, the same whether a button or a command made it."""

from __future__ import annotations

from bot.domain.approvals import Outcome
from bot.domain.requests import hand_over
from bot.domain.services import Services
from handlers.background import Background


async def carry_out(
    services: Services, later: Background, request_id: str, outcome: Outcome
) -> None:
    """Hand a request that must start to the workers (before the ack: it is what the person
    asked for), and refresh the cards that changed after it."""
    if outcome.start:
        await hand_over(services, outcome.start, start_now=True)
    if outcome.refresh:
        later.spawn(services.notifier.show(request_id))
    elif outcome.start == request_id:  # a worker owns the card now, if one is alive
        later.spawn(_show_if_no_worker(services, request_id))
    if outcome.neighbour:
        later.spawn(services.notifier.show(outcome.neighbour))


async def _show_if_no_worker(services: Services, request_id: str) -> None:
    """Nobody will update the card of a request that is to start while no worker is alive:
    the bot does, so that it says it is queued and that no worker runs."""
    if not (await services.store.workers()).alive:
        await services.notifier.show(request_id)
