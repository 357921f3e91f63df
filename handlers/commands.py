"""Slash commands: ack -> parse -> one call into bot/ -> render."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import reports
from bot.grammar import HELP_TEXT, UsageError, parse_deploy, parse_shipbot
from bot.requests import Refused, hand_over, open_deploy
from bot.services import Services
from handlers.guard import delivery_key, guarded
from handlers.reports import audit_text, history_text, status_text
from handlers.routes import DEPLOY, SHIPBOT


def register(app: AsyncApp, services: Services) -> None:
    app.command(DEPLOY)(guarded(_deploy(services), services.notifier))
    app.command(SHIPBOT)(guarded(_shipbot(services), services.notifier))


def _deploy(services: Services) -> Any:
    async def deploy(ack: Any, body: dict[str, Any]) -> None:
        text = body.get("text", "")
        if not text.strip():
            await ack(response_type="ephemeral", text=HELP_TEXT)
            return
        try:
            cmd = parse_deploy(text)
            user, channel = body["user_id"], body["channel_id"]
            opened = await open_deploy(services, cmd, user, channel, delivery_key(body))
        except (UsageError, Refused) as problem:
            await ack(response_type="ephemeral", text=str(problem))
            return
        if opened.replay:
            await ack()
            return
        request_id = opened.request.id
        await hand_over(services, request_id, opened.start_now)
        await ack(response_type="ephemeral", text=_acknowledged(request_id, opened.start_now))

    return deploy


def _acknowledged(request_id: str, starting: bool) -> str:
    if starting:
        return f"Request `{request_id}` accepted; no approval needed, deploying now."
    return (
        f"Request `{request_id}` recorded; its card in this channel tracks approvals and progress."
    )


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
