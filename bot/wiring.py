"""The composition root: settings and catalog in, a ready Services out."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from redis import asyncio as aioredis
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Catalog
from bot.config import Settings
from bot.notify import JobQueue
from bot.services import Services
from bot.store import Store
from handlers.notifier import SlackDirectory, SlackNotifier
from integrations.ansible import AnsibleDeployer
from integrations.base import Deployer


@contextlib.asynccontextmanager
async def shared_session(client: AsyncWebClient) -> AsyncIterator[None]:
    """One HTTP session (kept-alive TLS connections) for all of a process's Web API calls;
    without it slack_sdk opens a new connection per call. Must run inside the event loop."""
    client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
    try:
        yield
    finally:
        await client.session.close()


def slack_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value() or None,
        base_url=settings.api_url,
        timeout=5,
    )
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def deployers(catalog: Catalog, workdir: Path) -> Callable[[str], Deployer]:
    """One deployer per service, built from its catalog entry."""

    def deployer_for(service: str) -> Deployer:
        entry = catalog.services[service]
        assert entry.playbook is not None  # the catalog guarantees it for ansible
        return AnsibleDeployer(entry.playbook, entry.inventory, entry.vars, workdir)

    return deployer_for


def build_services(
    settings: Settings,
    catalog: Catalog,
    redis: aioredis.Redis,
    queue: JobQueue,
    client: AsyncWebClient,
) -> Services:
    store = Store(redis, settings.shipbot_key_prefix, settings.shipbot_lease_seconds)
    return Services(
        catalog=catalog,
        store=store,
        notifier=SlackNotifier(client, store, catalog),
        directory=SlackDirectory(client, store),
        queue=queue,
        deployer_for=deployers(catalog, Path(os.getcwd())),
    )
