"""The Bolt AsyncApp with every listener registered: one app for HTTP, Socket Mode and console."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers import actions, commands
from handlers.guard import once


def build_app(
    services: Services, client: AsyncWebClient, signing_secret: str, *, console: bool = False
) -> AsyncApp:
    """Slack's app: verified requests and auth.test; the console's: its own identity, inline."""
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "console",
        request_verification_enabled=not console,
        process_before_response=console,
        raise_error_for_unhandled_request=False,
        authorize=_console_identity if console else None,
    )
    app.middleware(once(services.store))
    commands.register(app, services)
    actions.register(app, services)
    return app


async def _console_identity() -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=None, team_id="T0CONSOLE", bot_user_id="U0SHIPBOT", bot_id="B0SHIPBOT"
    )
