"""`shipbot socket`: the same app over Slack's Socket Mode, for hosts Slack can't reach."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import liveness
from bot.app.startup import bot_identity, report_redis
from bot.app.wiring import build_services, shared_session, slack_client
from bot.catalog.model import Catalog
from bot.catalog.settings import Settings
from bot.store.connection import RedisTarget
from bot.store.queue import ArqQueue
from handlers.app import build_slack_app

log = logging.getLogger(__name__)


class AppTokenRefused(Exception):
    """Slack refused SLACK_APP_TOKEN; retrying would never succeed."""


async def run_socket_mode(settings: Settings, catalog: Catalog) -> None:
    """Touch the liveness file from the start (waiting for Slack or Redis is no reason to be
    restarted), check the bot token (raises startup.TokenRefused), the app token, then serve."""
    touching = asyncio.create_task(liveness.keep_touching(Path(settings.shipbot_alive_file)))
    try:
        await _serve(settings, catalog)
    finally:
        touching.cancel()


async def _serve(settings: Settings, catalog: Catalog) -> None:
    identity = await bot_identity(settings.api_url, settings.slack_bot_token.get_secret_value())
    target = RedisTarget.of(settings)
    await report_redis(target)
    client = slack_client(settings)
    await _check_app_token(client, settings.slack_app_token.get_secret_value())
    redis, pool = target.client(), target.arq_redis()
    queue = ArqQueue(pool, settings.shipbot_key_prefix)
    services = build_services(settings, catalog, redis, queue, client)
    signing_secret = settings.slack_signing_secret.get_secret_value()
    app = build_slack_app(services, client, signing_secret, identity=identity).bolt
    async with shared_session(client), target.watch(redis, pool):
        app_token = settings.slack_app_token.get_secret_value()
        handler = AsyncSocketModeHandler(app, app_token, web_client=client)
        await handler.connect_async()
        log.info("shipbot socket: connected to Slack over Socket Mode")
        await asyncio.Event().wait()


async def _check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """Fail at once, naming Slack's reason, rather than retry a token Slack will never take."""
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        raise AppTokenRefused(str(error.response.get("error", "refused"))) from None
