"""`shipbot socket`: the same app over Slack's Socket Mode, for hosts Slack can't reach."""

from __future__ import annotations

from arq.connections import ArqRedis
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Catalog
from bot.config import Settings
from bot.queue import ArqQueue
from bot.store import connect
from bot.wiring import build_services, shared_session, slack_client
from handlers.app import build_app


class AppTokenRefused(Exception):
    """Slack refused SLACK_APP_TOKEN; retrying would never succeed."""


async def run_socket_mode(settings: Settings, catalog: Catalog) -> None:
    client = slack_client(settings)
    await _check_app_token(client, settings.slack_app_token.get_secret_value())
    pool = ArqRedis.from_url(settings.redis_url, socket_connect_timeout=0.5, socket_timeout=2.0)
    services = build_services(
        settings,
        catalog,
        connect(settings.redis_url),
        ArqQueue(pool, settings.shipbot_key_prefix),
        client,
    )
    app = build_app(services, client, settings.slack_signing_secret.get_secret_value())
    async with shared_session(client):
        await AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value()).start_async()


async def _check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """Fail at once, naming Slack's reason, rather than retry a token Slack will never take."""
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        raise AppTokenRefused(str(error.response.get("error", "refused"))) from None
