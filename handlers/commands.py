"""Slash commands: ack -> parse -> one call into bot/ -> render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain import approvals, reports
from bot.domain.grammar import (
    ShipbotCommand,
    UsageError,
    help_text,
    parse_deploy,
    parse_rollback,
    parse_shipbot,
    rollback_usage,
)
from bot.domain.lookup import Refused
from bot.domain.requests import Opened, handed, open_deploy
from bot.domain.rollbacks import open_rollback
from bot.domain.services import Services
from bot.models import DeployRequest, State
from handlers import locks
from handlers.background import Background
from handlers.blocks import no_worker
from handlers.freezes import FREEZE_VERBS, calendar_warnings, freeze_command, freezes_text
from handlers.guard import Listener, delivery_key, guarded, where
from handlers.outcomes import carry_out
from handlers.reports import (
    audit_text,
    history_text,
    services_text,
    status_text,
    workers_text,
)
from handlers.routes import DEPLOY, ROLLBACK, SHIPBOT


def register(app: AsyncApp, services: Services, later: Background) -> dict[str, Listener]:
    """Register /deploy, /rollback and /shipbot with Bolt; their listeners, by command."""
    listeners = {
        DEPLOY: guarded(_asking(services, _deploy), services.notifier),
        ROLLBACK: guarded(_asking(services, _rollback), services.notifier),
        SHIPBOT: guarded(_shipbot(services, later), services.notifier),
    }
    for command, listener in listeners.items():
        app.command(command)(listener)
    return listeners


Open = Callable[[Services, str, str, str, str], Awaitable[Opened]]


async def _deploy(services: Services, text: str, user: str, channel: str, seen: str) -> Opened:
    return await open_deploy(services, parse_deploy(text), user, channel, seen)


async def _rollback(services: Services, text: str, user: str, channel: str, seen: str) -> Opened:
    return await open_rollback(services, parse_rollback(text), user, channel, seen)


def _asking(services: Services, open_request: Open) -> Any:
    """/deploy and /rollback: record the request, hand it to the workers, answer."""

    async def ask(ack: Any, body: dict[str, Any]) -> None:
        (channel, user), text = where(body), str(body.get("text", ""))
        if not text.strip():  # the command alone: how to use it, with the catalog's names
            usage = help_text if body.get("command") == DEPLOY else rollback_usage
            await ack(response_type="ephemeral", text=usage(reports.examples(services.catalog)))
            return
        try:
            opened = await open_request(services, text, user, channel, delivery_key(body))
        except (UsageError, Refused) as problem:
            await ack(response_type="ephemeral", text=str(problem))
            return
        if opened.replay:
            await ack()
            return
        await handed(services, opened)
        await ack(response_type="ephemeral", text=_acknowledged(opened))

    ask.__name__ = open_request.__name__.strip("_")
    return ask


def _acknowledged(opened: Opened) -> str:
    request = opened.request
    what = f"`{request.id}` ({request.summary})"
    if request.state is State.PENDING:
        said = f"Request {what} recorded; it needs {_approvals(request)}."
        then = "Its card in this channel will track approvals and progress"
    elif request.queued_behind:
        said = f"Request {what} accepted; no approval needed. It is queued behind "
        said += f"`{request.queued_behind}` (one at a time per service and environment)."
        then = "Its card in this channel will say when it starts"
    else:
        said = f"Request {what} accepted; no approval needed."
        then = "It starts now; its card in this channel will show progress"
    if not opened.workers.alive:
        return f"{said} {no_worker(opened.workers)}"
    return f"{said} {then}."


def _approvals(request: DeployRequest) -> str:
    count = request.approvals_needed
    return f"{count} approval{'s' if count != 1 else ''}"


def _shipbot(services: Services, later: Background) -> Any:
    async def shipbot(ack: Any, body: dict[str, Any]) -> None:
        try:
            cmd = parse_shipbot(body.get("text", ""))
            if cmd.verb == "cancel":
                text = await _cancel(services, later, cmd.args[0], body)
            elif cmd.verb in locks.VERBS:
                text = await locks.answer(services, later, cmd, body)
            elif cmd.verb in FREEZE_VERBS:
                text = await freeze_command(services, cmd, where(body)[1])
            else:
                text = await _answer(services, cmd)
        except (UsageError, Refused) as problem:
            text = str(problem)
        await ack(response_type="ephemeral", text=text)

    return shipbot


async def _cancel(services: Services, later: Background, request_id: str, body: Any) -> str:
    """/shipbot cancel: what the Cancel button does, for a request whose card is out of reach."""
    outcome = await approvals.cancel(services, request_id, where(body)[1], delivery_key(body))
    await carry_out(services, later, request_id, outcome)
    if outcome.refresh:
        return outcome.say or f"Cancelled `{request_id}`; its card says so."
    return outcome.say or "Nothing to do: this was already done."


async def _answer(services: Services, cmd: ShipbotCommand) -> str:
    args = cmd.args
    match cmd.verb:
        case "services":
            return services_text(services.catalog)
        case "status":
            names = args[:1] or tuple(services.catalog.services)
            lines = [workers_text(await reports.workers(services))]
            lines += calendar_warnings(services.catalog)
            lines += [
                status_text(services.catalog, n, await reports.status(services, n)) for n in names
            ]
            return "\n".join(lines)
        case "history":
            entries = await reports.history(services, args[0], args[1] if len(args) > 1 else None)
            return history_text(args[0], entries)
        case "freezes":
            return await freezes_text(services, args[0] if args else None)
        case "audit":
            subject = args[0] if args else None
            return audit_text(await reports.audit(services, subject), subject)
    return help_text(reports.examples(services.catalog))  # `help`, the only other verb left
