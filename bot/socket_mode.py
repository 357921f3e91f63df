"""`shipbot socket`: the same app over Slack's Socket Mode, for hosts Slack can't reach."""

from __future__ import annotations

from arq.connections import ArqRedis
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.catalog import Catalog
from bot.config import Settings
from bot.queue import ArqQueue
from bot.store import connect
from bot.wiring import build_services, slack_client
from handlers.app import build_app


async def run_socket_mode(settings: Settings, catalog: Catalog) -> None:
    client = slack_client(settings)
    pool = ArqRedis.from_url(settings.redis_url, socket_connect_timeout=0.5, socket_timeout=2.0)
    services = build_services(
        settings, catalog, connect(settings.redis_url), ArqQueue(pool), client
    )
    app = build_app(services, client, settings.slack_signing_secret.get_secret_value())
    await AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value()).start_async()
