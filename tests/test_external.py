"""Deployments GitLab ran without shipbot: which catalogued targets a hook names, what the
worker records, and what it leaves to a later try. Real Redis; GitLab's answer as given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from arq import Retry

from bot.app import worker
from bot.catalog.model import load_catalog
from bot.domain.external import HookTarget, hook_targets, record_external
from bot.domain.services import Services
from bot.ports.deployer import DeployError, DeployUnreachable, Lookup
from bot.store.requests import RedisStore, connect
from tests.conftest import GITLAB_PROJECT, tool_services, write_catalog
from tests.fakes import RedisServer
from tests.fakes.recorders import FixedDirectory, RecordingNotifier, RecordingQueue


@dataclass(frozen=True)
class Facts:
    """A GitLab deployment as integrations.gitlab.describe_deployment describes it."""

    project_id: int = 5
    project_path: str = GITLAB_PROJECT
    environment: str = "production"
    status: str = "success"
    ref: str = "v9"
    user: str = "mallory"
    finished_at: float | None = 100.0
    by_shipbot: bool = False


NOWHERE = {"dc-a": "http://127.0.0.1:9", "dc-b": "http://127.0.0.1:9"}


@pytest.fixture
async def services(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Services]:
    client = connect(redis_server.url)
    await client.flushdb()
    tools = tool_services(NOWHERE, NOWHERE)
    yield Services(
        catalog=load_catalog(write_catalog(tmp_path, tools=tools)),
        store=RedisStore(client),
        notifier=RecordingNotifier(),
        directory=FixedDirectory(),
        queue=RecordingQueue(),
        deployer_for=lambda *target: pytest.fail("recording deploys nothing"),
        health=lambda *args, **kwargs: pytest.fail("recording checks nothing"),
    )
    await client.aclose()


def answering(facts: Facts | Exception) -> Lookup:
    async def lookup(project_id: int, deployment_id: int) -> Facts:
        if isinstance(facts, Exception):
            raise facts
        return facts

    return lookup


def test_gitlab_environment_names_the_catalogued_targets(services: Services) -> None:
    """`production` of payments/pay is pay's prod, both data centres."""
    expected = [HookTarget("pay", "prod", ["dc-a", "dc-b"])]
    assert expected == hook_targets(services.catalog, 5, GITLAB_PROJECT, "production")
    assert [] == hook_targets(services.catalog, 5, GITLAB_PROJECT, "prod")


async def test_outside_deployment_is_recorded(services: Services) -> None:
    """What GitLab ran alone lands in history, credited to its GitLab user."""
    assert ["pay prod"] == await record_external(services, answering(Facts()), 5, 9)
    [entry] = await services.store.history("pay", "prod")
    assert ("v9", "mallory (GitLab)", "gitlab") == (entry.version, entry.requester, entry.source)


async def test_shipbots_own_deployment_is_not_recorded(services: Services) -> None:
    """A deployment whose pipeline carries SHIPBOT_REQUEST_ID is already in history."""
    assert [] == await record_external(services, answering(Facts(by_shipbot=True)), 5, 9)
    assert [] == await services.store.history("pay", "prod")


async def test_unknown_deployment_is_dropped(services: Services) -> None:
    """GitLab says there is no such deployment: nothing is recorded, nothing retried."""
    missing = DeployError("deployment 9 of 5 not found")
    assert [] == await record_external(services, answering(missing), 5, 9)


async def test_unreachable_gitlab_is_asked_again_later(services: Services) -> None:
    """GitLab unreachable: the worker's job asks arq to retry it."""
    services.lookup_deployment = answering(DeployUnreachable("cannot reach GitLab"))
    with pytest.raises(Retry):
        await worker.record_external({"services": services}, 5, 9)


def test_job_timeout_covers_every_deploy_and_rollback(services: Services) -> None:
    """pay's two data centres at GitLab's hour each, deployed and rolled back, plus an hour."""
    assert 2 * 2 * 3600 + 3600 == worker.job_timeout(services.catalog)
