"""The Bolt AsyncApp with every listener registered: one app for HTTP, Socket Mode and console."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers import actions, commands
from handlers.background import Background


def build_app(
    services: Services,
    client: AsyncWebClient,
    signing_secret: str,
    *,
    console: bool = False,
    later: Background | None = None,
) -> AsyncApp:
    """Slack's app: verified requests and auth.test; the console's: its own identity.

    Listeners answer as soon as they ack (process_before_response): work after the ack goes
    to ``later`` or to a worker, so Bolt never has to poll for the ack.
    """
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "console",
        request_verification_enabled=not console,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        authorize=_console_identity if console else None,
    )
    later = later or Background()
    commands.register(app, services, later)
    actions.register(app, services, later)
    return app


async def _console_identity() -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=None, team_id="T0CONSOLE", bot_user_id="U0SHIPBOT", bot_id="B0SHIPBOT"
    )
