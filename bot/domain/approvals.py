"""Approve, reject, cancel and stop: policy first, then one atomic transition in Redis.

A refused decision changes nothing but the audit trail, which records who tried and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.lookup import Refused, environment_of
from bot.domain.policy import Refusal, approval_refusal, group_ids, groups_unavailable, mention
from bot.domain.rules import eligible, everyone, groups_to_ask, rules_of
from bot.domain.services import Services
from bot.logcontext import bind
from bot.models import AuditEvent, DeployRequest, Rule, State
from bot.ports.store import Approval, ApprovalOutcome, Ended, EndOutcome, StopOutcome


@dataclass(frozen=True)
class Outcome:
    """What a decision did: a private word for the person, whether the bot should refresh the
    card, and which request a worker should start now (a worker then owns that card)."""

    say: str | None = None
    refresh: bool = False
    start: str | None = None
    neighbour: str | None = None  # another request whose card changed (it moved up a queue)


GONE = Outcome("This request no longer exists.")
NOT_COUNTED = (
    "Your approval is recorded, but it doesn't count toward the quorum: the rules you may "
    "approve for are already met by others. The card shows which rules still need someone."
)


async def approve(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    bind(request)
    standing = await _standing(services, request, user, approving=True)
    if isinstance(standing, Refusal):
        return await _refused(services, request, (user, delivery), "approval_refused", standing)
    result = await services.store.approve(request, user, delivery, eligible=standing)
    return _approve_outcome(request, result)


async def rejectable(
    services: Services, request_id: str, user: str, delivery: str = ""
) -> Outcome | None:
    """None when ``user`` may reject the request now (its Reject asks them why); else what to
    tell them."""
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    bind(request)
    if request.state is not State.PENDING and user != request.requester:
        return Outcome(f"This request is already {request.state}.")
    return await _may_not_reject(services, request, user, delivery)


async def reject(
    services: Services, request_id: str, user: str, delivery: str = "", reason: str = ""
) -> Outcome:
    """End a pending request as rejected, with the rejecter's ``reason`` (checked again: the
    rules may have changed since the Reject was pressed)."""
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    bind(request)
    if refused := await _may_not_reject(services, request, user, delivery):
        return refused
    result = await services.store.end(request, user, State.REJECTED, delivery, reason=reason)
    return _end_outcome(request, result)


async def _may_not_reject(
    services: Services, request: DeployRequest, user: str, delivery: str
) -> Outcome | None:
    if user == request.requester:
        return Outcome("That's your own request: use Cancel to withdraw it.")
    refusal = await _refusal(services, request, user)
    if refusal:
        return await _refused(services, request, (user, delivery), "rejection_refused", refusal)
    return None


async def cancel(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    """Withdraw a request: while it waits for approval, its requester may; once approved and
    queued, its requester or one of the environment's approvers may."""
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    bind(request)
    queued = request.state is State.QUEUED
    if queued and user != request.requester:
        refusal = await _refusal(services, request, user)
        if refusal:
            say = _only_they_may(request, "cancel it")
            return await _refused(
                services, request, (user, delivery), "cancel_refused", refusal, say
            )
    result = await services.store.end(request, user, State.CANCELLED, delivery, queued_too=queued)
    return _end_outcome(request, result)


async def stop(services: Services, request_id: str, user: str, delivery: str = "") -> Outcome:
    """Stop a running deploy: its requester or one of the environment's approvers may."""
    request = await services.store.get(request_id)
    if request is None:
        return GONE
    bind(request)
    refusal = None if user == request.requester else await _refusal(services, request, user)
    if refusal:
        say = _only_they_may(request, f"stop this {request.action.value}")
        return await _refused(services, request, (user, delivery), "stop_refused", refusal, say)
    asked = await services.store.request_stop(request, user, delivery)
    match asked.outcome:
        case StopOutcome.STOPPING:
            return Outcome(
                f"Stopping `{request.id}` (unless it finishes first); the card will show "
                "what was stopped and what was rolled back."
            )
        case StopOutcome.DUPLICATE:
            return Outcome(f"{mention(asked.by)} already asked to stop it; it is stopping.")
        case StopOutcome.CLOSED:
            return Outcome(f"This request is {asked.state}, not running: there is nothing to stop.")
    return Outcome()


async def warm_groups(services: Services, request_id: str) -> None:
    """Look up the user groups that decide who approves a pending request, ahead of clicks."""
    request = await services.store.get(request_id)
    if request is None or request.state is not State.PENDING:
        return
    if groups := group_ids(everyone(request.rules)):
        await services.directory.warm(groups)


async def _refusal(services: Services, request: DeployRequest, user: str) -> Refusal | None:
    """Why the user may not decide on this request (fail closed), or None."""
    standing = await _standing(services, request, user)
    return standing if isinstance(standing, Refusal) else None


async def _standing(
    services: Services, request: DeployRequest, user: str, approving: bool = False
) -> Refusal | list[int]:
    """The request's rules the user may count for (indices), or why they may not decide
    (fail closed). Deciding otherwise than approving, the environment's approvers may too."""
    try:
        env = environment_of(services.catalog, request.service, request.environment)
    except Refused as gone:
        say = f"{gone} It was removed from the catalog, so this request can't be decided."
        return Refusal("not in the catalog", say)
    rules = rules_of(request, env.approvers)
    approvers = everyone(
        rules if approving else [*rules, Rule(approvals=0, approvers=env.approvers)]
    )
    if user == request.requester:
        asked = []
    elif user in approvers:  # which other rules they count for, by their groups
        asked = groups_to_ask(rules, user) if approving else []
    else:
        asked = group_ids(approvers)
    groups = await services.directory.groups_of(user, asked) if asked else set()
    if groups is None:  # not knowing which rules they count for, record nothing (fail closed)
        return groups_unavailable(approvers)
    refusal = approval_refusal(request, user, approvers, groups)
    return refusal or eligible(rules, user, groups)


def _only_they_may(request: DeployRequest, what: str) -> str:
    return (
        f"Only {mention(request.requester)}, who asked for it, or an approver of "
        f"{request.service} in {request.environment} can {what}."
    )


async def _refused(
    services: Services,
    request: DeployRequest,
    attempt: tuple[str, str],
    event: str,
    refusal: Refusal,
    say: str = "",
) -> Outcome:
    """Record the refused attempt (who, in which Slack delivery) in the audit trail, once
    per delivery, and tell the person why."""
    user, delivery = attempt
    noted = AuditEvent(
        actor=user,
        event=event,
        request_id=request.id,
        service=request.service,
        environment=request.environment,
        detail=refusal.why,
    )
    await services.store.note(noted, delivery)
    return Outcome(say or refusal.say)


def _approve_outcome(request: DeployRequest, result: Approval) -> Outcome:
    match result.outcome:
        case ApprovalOutcome.REPLAY:
            return Outcome()
        case ApprovalOutcome.RECORDED if not result.counted:
            return Outcome(NOT_COUNTED, refresh=True)
        case ApprovalOutcome.RECORDED:
            return Outcome(refresh=True)
        case ApprovalOutcome.QUEUED if result.head == request.id:
            return Outcome(start=request.id, neighbour=result.passed or None)
        case ApprovalOutcome.QUEUED:
            return Outcome(refresh=True, neighbour=result.passed or None)
        case ApprovalOutcome.DUPLICATE:
            return Outcome("You've already approved this request; one approval per person.")
        case ApprovalOutcome.EXPIRED:
            return Outcome("This request expired before it was approved.", refresh=True)
        case ApprovalOutcome.CLOSED:
            return Outcome(f"This request is already {result.state}.")
    return GONE


def _end_outcome(request: DeployRequest, result: Ended) -> Outcome:
    match result.outcome:
        case EndOutcome.REPLAY:
            return Outcome()
        case EndOutcome.ENDED:
            start, behind = result.start, result.behind
            neighbour = behind if behind and behind != start else None
            return Outcome(refresh=True, start=start or None, neighbour=neighbour)
        case EndOutcome.NOT_REQUESTER:
            return Outcome(
                f"Only {mention(request.requester)}, who asked for it, can cancel a request "
                "waiting for approval; approvers can Reject it."
            )
        case EndOutcome.CLOSED if result.state is State.RUNNING:
            return Outcome(
                f"`{request.id}` is running: press Stop on its card to stop it and return "
                "what it changed."
            )
        case EndOutcome.CLOSED:
            return Outcome(f"This request is already {result.state}.")
    return GONE
