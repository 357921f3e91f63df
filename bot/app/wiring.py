"""The composition root: settings and catalog in, a ready Services out."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
from pydantic import SecretStr
from redis import asyncio as aioredis
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog.model import Catalog
from bot.catalog.options import timeout_of
from bot.catalog.settings import Settings
from bot.domain.freezes import listing as freeze_listing
from bot.domain.metrics.rebuild import rebuild
from bot.domain.services import Services
from bot.ports.deployer import Deployer, Lookup, ToolDeployment, Wake
from bot.ports.notify import JobQueue
from bot.ports.source import BranchFigures, Changes, CodeSource, Commit
from bot.store.connection import RedisTarget
from bot.store.requests import RedisStore
from handlers.directory import SlackDirectory
from handlers.notifier import SlackNotifier
from integrations.ansible import AnsibleDeployer
from integrations.health import wait_healthy


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


def deployers(
    catalog: Catalog, settings: Settings, workdir: Path, wake: Wake
) -> Callable[[str, str, str], Deployer]:
    """The deployer of one target (service, environment, data centre), from its catalog
    options merged over the levels (see bot/catalog/options.py), its timeout always given (the
    deployers have no default of their own). Each tool's client is imported only by a process
    that deploys with it."""

    def deployer_for(service: str, environment: str, datacenter: str) -> Deployer:
        entry = catalog.services[service]
        options = entry.options_for(environment, datacenter)
        options["timeout_seconds"] = timeout_of(entry.deployer, options)  # defaults are here
        match entry.deployer:
            case "kubernetes":
                from integrations.kubernetes import KubernetesDeployer

                return KubernetesDeployer(**options)
            case "gitlab":
                from integrations.gitlab import GitLabDeployer

                return GitLabDeployer(
                    settings.gitlab_url, _secret(settings.gitlab_token), wake=wake, **options
                )
            case "argocd":
                from integrations.argocd import ArgoCDDeployer

                options = {"server": settings.argocd_url, **options}
                return ArgoCDDeployer(token=_secret(settings.argocd_token), **options)
        if entry.playbook is None:  # the catalog's checks make this unreachable
            raise ValueError(f"{service} deploys with ansible but names no playbook")
        return AnsibleDeployer(entry.playbook, entry.inventory, entry.vars, workdir, **options)

    return deployer_for


def settings_needed(catalog: Catalog) -> list[str]:
    """The settings a worker needs for the deployers this catalog uses."""
    kinds = {service.deployer for service in catalog.services.values()}
    needed = ["gitlab_url", "gitlab_token"] if "gitlab" in kinds else []
    needed += ["argocd_token"] if "argocd" in kinds else []
    return needed + (["argocd_url"] if _argocd_without_server(catalog) else [])


def _argocd_without_server(catalog: Catalog) -> bool:
    """Whether some argocd target gives no ``server`` and so needs ARGOCD_URL."""
    return any(
        "server" not in service.options_for(name, target)
        for service in catalog.services.values()
        if service.deployer == "argocd"
        for name, env in service.environments.items()
        for target in env.targets()
    )


def gitlab_lookup(settings: Settings) -> Lookup | None:
    """What GitLab says about one deployment, when shipbot may ask GitLab."""
    if settings.missing("gitlab_url", "gitlab_token"):
        return None

    async def lookup(project_id: int, deployment_id: int) -> ToolDeployment:
        from integrations.gitlab import describe_deployment

        url, token = settings.gitlab_url, _secret(settings.gitlab_token)
        return await describe_deployment(url, token, project_id, deployment_id)

    return lookup


def code_source(settings: Settings) -> CodeSource | None:
    """Where services' commits come from (release notes, lead time, the branch figures), when
    shipbot may ask GitLab."""
    if settings.missing("gitlab_url", "gitlab_token"):
        return None
    return _LazyGitLabSource(settings.gitlab_url, _secret(settings.gitlab_token))


class _LazyGitLabSource:
    """GitLabSource, made (and python-gitlab imported) when first asked: a process that never
    asks (``serve``) never loads it."""

    def __init__(self, url: str, token: str) -> None:
        self._url, self._token = url, token
        self._source: CodeSource | None = None

    async def changes(self, project: str, older: str | None, newer: str) -> Changes:
        return await self._made().changes(project, older, newer)

    async def branch_figures(self, project: str, since: float, until: float) -> BranchFigures:
        return await self._made().branch_figures(project, since, until)

    async def commit_of(self, project: str, tag: str) -> Commit:
        return await self._made().commit_of(project, tag)

    def _made(self) -> CodeSource:
        if self._source is None:
            from integrations.gitlab_source import GitLabSource

            self._source = GitLabSource(self._url, self._token)
        return self._source


def _secret(value: SecretStr) -> str:
    return value.get_secret_value()


def build_services(
    settings: Settings,
    catalog: Catalog,
    redis: aioredis.Redis,
    queue: JobQueue,
    client: AsyncWebClient,
) -> Services:
    store = RedisStore(redis, settings.shipbot_key_prefix, settings.shipbot_lease_seconds)
    freeze_listing.prepare(catalog)
    return Services(
        catalog=catalog,
        store=store,
        notifier=SlackNotifier(client, store, catalog),
        directory=SlackDirectory(client, store),
        queue=queue,
        deployer_for=deployers(catalog, settings, Path(os.getcwd()), store.listen),
        health=wait_healthy,
        lookup_deployment=gitlab_lookup(settings),
        source=code_source(settings),
    )


async def rebuild_metrics(settings: Settings, catalog: Catalog) -> tuple[int, int]:
    """`shipbot metrics rebuild`: runs replayed and lead records replayed."""
    redis = RedisTarget.of(settings).client()
    try:
        done = await rebuild(RedisStore(redis, settings.shipbot_key_prefix), catalog)
    finally:
        await redis.aclose()
    return done.runs, done.leads
