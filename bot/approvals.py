"""Approve, reject and cancel: policy first, then one atomic transition in Redis."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import DeployRequest, State
from bot.policy import approval_refusal, group_ids, mention
from bot.requests import Refused, environment_of
from bot.services import Services


@dataclass(frozen=True)
class Outcome:
    """What a click did: a private word for the clicker, whether the card changed, what to run."""

    say: str | None = None
    changed: bool = False
    start: str | None = None


GONE = Outcome("This request no longer exists.")


async def approve(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    refusal = await _refusal(services, request, user)
    if refusal:
        return Outcome(refusal)
    result = await services.store.approve(request, user, delivery)
    return _approve_outcome(request, result)


async def reject(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    if user == request.requester:
        return Outcome("That's your own request: use Cancel to withdraw it.")
    refusal = await _refusal(services, request, user)
    if refusal:
        return Outcome(refusal)
    return _end_outcome(await services.store.end_pending(request, user, State.REJECTED, delivery))


async def cancel(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    return _end_outcome(await services.store.end_pending(request, user, State.CANCELLED, delivery))


async def stop(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    """Stop a running deploy: its requester or one of the environment's approvers may."""
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    if user != request.requester and await _refusal(services, request, user):
        return Outcome(
            f"Only {mention(request.requester)}, who asked for it, or an approver of "
            f"{request.service} in {request.environment} can stop this deploy."
        )
    match await services.store.request_stop(request, user, delivery):
        case ["stopping"]:
            return Outcome(
                f"Stopping `{request.id}` (unless it finishes first); the card will show "
                "what was stopped and what was rolled back."
            )
        case ["duplicate", who]:
            return Outcome(f"{mention(who)} already asked to stop it; it is stopping.")
        case ["closed", state]:
            return Outcome(f"This request is {state}, not running: there is nothing to stop.")
    return Outcome()


async def _refusal(services: Services, request: DeployRequest, user: str) -> str | None:
    """Why the user may not decide on this request (fail closed), or None."""
    try:
        approvers = environment_of(services.catalog, request.service, request.environment).approvers
    except Refused as gone:
        return f"{gone} It was removed from the catalog, so this request can't be decided."
    groups = None
    if user not in approvers and group_ids(approvers):
        groups = await services.directory.groups_of(user, group_ids(approvers))
    return approval_refusal(request, user, approvers, groups)


def _approve_outcome(request: DeployRequest, result: list[str]) -> Outcome:
    match result:
        case ["replay"]:
            return Outcome()
        case ["recorded", _]:
            return Outcome(changed=True)
        case ["queued", head]:
            return Outcome(changed=True, start=request.id if head == request.id else None)
        case ["duplicate"]:
            return Outcome("You've already approved this request; one approval per person.")
        case ["expired"]:
            return Outcome("This request expired before it was approved.", changed=True)
        case ["closed", state]:
            return Outcome(f"This request is already {state}.")
    return GONE


def _end_outcome(result: list[str]) -> Outcome:
    match result:
        case ["replay"]:
            return Outcome()
        case ["ended"]:
            return Outcome(changed=True)
        case ["not_requester"]:
            return Outcome("Only the person who asked for this deploy can cancel it.")
        case ["closed", state]:
            return Outcome(f"This request is already {state}.")
    return GONE
