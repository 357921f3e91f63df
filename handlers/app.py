"""The Bolt AsyncApp with every listener registered: one app for HTTP, Socket Mode and console."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.services import Services
from bot.scrub import escaped
from handlers import actions, commands, metrics, reject, unknown
from handlers.background import Background
from handlers.direct import DirectCommands

log = logging.getLogger(__name__)

CONSOLE_IDENTITY = AuthorizeResult(
    enterprise_id=None, team_id="T0CONSOLE", bot_user_id="U0SHIPBOT", bot_id="B0SHIPBOT"
)


@dataclass(frozen=True)
class SlackApp:
    """Bolt's app, and the slash commands the HTTP path may answer without its dispatch."""

    bolt: AsyncApp
    direct: DirectCommands


def build_slack_app(
    services: Services,
    client: AsyncWebClient,
    signing_secret: str,
    *,
    console: bool = False,
    later: Background | None = None,
    identity: AuthorizeResult | None = None,
) -> SlackApp:
    """Slack's app, authorized as ``identity`` (what auth.test said at start) or else by
    Bolt's own auth.test on the first request; the console's, as its own identity.

    Listeners answer as soon as they ack (process_before_response): work after the ack goes
    to ``later`` or to a worker, so Bolt never has to poll for the ack. /deploy, /rollback and
    /shipbot may also be answered without Bolt's dispatch, on the HTTP path, by ``direct``
    (see handlers/direct.py). Requests Bolt has no
    listener for, and failures outside listeners, go to ``_failed``, which logs a summary of
    the request, never its body.
    """
    identity = CONSOLE_IDENTITY if console else identity
    app = AsyncApp(
        # With a fixed identity Bolt takes the token from it; a client holding the token
        # too would make Bolt warn that the token is ignored.
        client=client if identity is None else _without_token(client),
        signing_secret=signing_secret or "console",
        request_verification_enabled=not console,
        process_before_response=True,
        raise_error_for_unhandled_request=True,
        authorize=None if identity is None else _fixed(identity),
    )
    later = later or Background()
    direct = DirectCommands(commands.register(app, services, later))
    metrics.register(app, services)
    actions.register(app, services, later)
    reject.register(app, services, later)
    unknown.register(app, services)
    app.error(_failed)
    return SlackApp(app, direct)


def _without_token(client: AsyncWebClient) -> AsyncWebClient:
    return AsyncWebClient(base_url=client.base_url, timeout=client.timeout)


def _fixed(identity: AuthorizeResult) -> Any:
    async def authorize() -> AuthorizeResult:
        return identity

    return authorize


async def _failed(error: Exception, request: AsyncBoltRequest) -> BoltResponse | None:
    """A request no listener took gets 400 saying so; anything else is an internal error,
    logged with its traceback (scrubbed) and a summary of the request."""
    if isinstance(error, BoltUnhandledRequestError):
        log.warning("no listener for %s", summary(request.body))
        return BoltResponse(status=400, body={"error": _unhandled(request.body)})
    log.error("Bolt failed on %s: %s", summary(request.body), type(error).__name__, exc_info=error)
    return None


def _unhandled(body: dict[str, Any]) -> str:
    action_id = _first_action(body).get("action_id")
    if isinstance(action_id, str):
        return f"shipbot has no button `{action_id[:40]}`"
    return "shipbot does not handle this request"


def summary(body: dict[str, Any]) -> str:
    """One short line about a request, for logs: what it is and who sent it, never its text."""
    if "command" in body:
        what, user_id = f"command {body.get('command')}", body.get("user_id")
    else:
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        what = f"{body.get('type')} {_first_action(body).get('action_id')}"
    return escaped(f"{what} from {user_id}"[:120])


def _first_action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}
