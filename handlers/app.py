"""The Bolt AsyncApp with every shipbot listener registered; the same for HTTP, Socket Mode and the console."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers import actions, commands
from handlers.guard import once


def build_app(
    services: Services, client: AsyncWebClient, signing_secret: str, *, console: bool = False
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "console",
        request_verification_enabled=not console,
        process_before_response=console,
        raise_error_for_unhandled_request=False,
    )
    app.middleware(once(services.store))
    commands.register(app, services)
    actions.register(app, services)
    return app
