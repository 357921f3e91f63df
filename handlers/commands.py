"""Slash commands: ack -> parse -> one call into bot/ -> render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import reports
from bot.grammar import HELP_TEXT, UsageError, parse_deploy, parse_rollback, parse_shipbot
from bot.requests import Opened, Refused, hand_over, open_deploy
from bot.rollbacks import open_rollback
from bot.services import Services
from handlers.guard import delivery_key, guarded
from handlers.reports import audit_text, history_text, status_text
from handlers.routes import DEPLOY, ROLLBACK, SHIPBOT


def register(app: AsyncApp, services: Services) -> None:
    app.command(DEPLOY)(guarded(_asking(services, _deploy), services.notifier))
    app.command(ROLLBACK)(guarded(_asking(services, _rollback), services.notifier))
    app.command(SHIPBOT)(guarded(_shipbot(services), services.notifier))


Open = Callable[[Services, str, str, str, str], Awaitable[Opened]]


async def _deploy(services: Services, text: str, user: str, channel: str, seen: str) -> Opened:
    return await open_deploy(services, parse_deploy(text), user, channel, seen)


async def _rollback(services: Services, text: str, user: str, channel: str, seen: str) -> Opened:
    return await open_rollback(services, parse_rollback(text), user, channel, seen)


def _asking(services: Services, open_request: Open) -> Any:
    """/deploy and /rollback: record the request, hand it to the workers, answer."""

    async def ask(ack: Any, body: dict[str, Any]) -> None:
        text, user, channel = body.get("text", ""), body["user_id"], body["channel_id"]
        if body.get("command") == DEPLOY and not text.strip():
            await ack(response_type="ephemeral", text=HELP_TEXT)
            return
        try:
            opened = await open_request(services, text, user, channel, delivery_key(body))
        except (UsageError, Refused) as problem:
            await ack(response_type="ephemeral", text=str(problem))
            return
        if opened.replay:
            await ack()
            return
        await hand_over(services, opened.request.id, opened.start_now)
        await ack(response_type="ephemeral", text=_acknowledged(opened))

    ask.__name__ = open_request.__name__.strip("_")
    return ask


def _acknowledged(opened: Opened) -> str:
    request = opened.request
    what = f"`{request.id}` ({request.action.value} {request.service} {request.version})"
    if opened.start_now:
        return f"Request {what} accepted; no approval needed, running now."
    return f"Request {what} recorded; its card in this channel tracks approvals and progress."


def _shipbot(services: Services) -> Any:
    async def shipbot(ack: Any, body: dict[str, Any]) -> None:
        try:
            text = await _answer(services, body.get("text", ""))
        except (UsageError, Refused) as problem:
            text = str(problem)
        await ack(response_type="ephemeral", text=text)

    return shipbot


async def _answer(services: Services, text: str) -> str:
    cmd = parse_shipbot(text)
    args = cmd.args
    match cmd.verb:
        case "status":
            names = args[:1] or tuple(services.catalog.services)
            return "\n".join([status_text(n, await reports.status(services, n)) for n in names])
        case "history":
            entries = await reports.history(services, args[0], args[1] if len(args) > 1 else None)
            return history_text(args[0], entries)
        case "audit":
            return audit_text(await reports.audit(services, args[0] if args else None))
    return HELP_TEXT  # `help`, the only other verb the grammar lets through
