"""The worker's safety nets: requests whose approval window passed expire, deploys whose worker
died end as failed so their lane moves on, lost jobs are enqueued again, and a request whose
catalog entry changed after approval is not run. Real Redis, recorded notifications."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.catalog.model import load_catalog
from bot.domain.deploys import run_request
from bot.domain.services import Services
from bot.domain.sweep import LOST, expire_stale, reconcile, recover_orphans
from bot.models import DeployRequest, State, Step, StepStatus
from bot.store.requests import RedisStore, connect
from tests.conftest import write_catalog
from tests.fakes import RedisServer
from tests.fakes.recorders import FixedDirectory, RecordingNotifier, RecordingQueue
from tests.test_store import finish_record


@pytest.fixture
async def services(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Services]:
    client = connect(redis_server.url)
    await client.flushdb()
    yield Services(
        catalog=load_catalog(write_catalog(tmp_path)),
        store=RedisStore(client, lease_seconds=2, lease_grace=0),
        notifier=RecordingNotifier(),
        directory=FixedDirectory(),
        queue=RecordingQueue(),
        deployer_for=lambda *target: pytest.fail("the sweep never deploys"),
        health=lambda *args, **kwargs: pytest.fail("the sweep never checks health"),
    )
    await client.aclose()


def request(rid: str, approvals: int = 2, expires_in: float = 3600) -> DeployRequest:
    return DeployRequest(
        id=rid, service="web-h5", environment="prod", version="v1", requester="U0DEV",
        channel="C0DEPLOY", catalog_revision="abc", approvals_needed=approvals,
        expires_at=time.time() + expires_in, steps=[Step(target="dc-a"), Step(target="dc-b")],
    )  # fmt: skip


async def test_overdue_pending_request_expires_and_its_card_is_updated(services: Services) -> None:
    """Past expires_at a pending request becomes expired; a fresh one stays pending."""
    await services.store.create(request("d-old", expires_in=-1))
    await services.store.create(request("d-new"))
    assert ["d-old"] == await expire_stale(services, "sweeper")
    old, new = await services.store.get("d-old"), await services.store.get("d-new")
    assert (State.EXPIRED, State.PENDING) == (old and old.state, new and new.state)
    assert ["d-old"] == services.notifier.shown  # type: ignore[attr-defined]


async def test_deploy_of_a_dead_worker_fails_and_the_next_one_starts(services: Services) -> None:
    """A running request whose lease lapsed ends failed, is recorded, and its lane moves on."""
    first, second = request("d-1", approvals=0), request("d-2", approvals=0)
    await services.store.create(first)
    await services.store.create(second)
    await services.store.claim(first, "worker:gone")
    first.steps[0].status = StepStatus.RUNNING
    await services.store.save_steps(first)
    await asyncio.sleep(2.2)
    assert [] == await recover_orphans(services, "sweeper")  # a suspect, not yet an orphan
    assert ["d-1"] == await recover_orphans(services, "sweeper")
    ended = await services.store.get("d-1")
    assert ended is not None and (State.FAILED, LOST) == (ended.state, ended.failure)
    expected_steps = [StepStatus.FAILED, StepStatus.SKIPPED]
    assert expected_steps == [step.status for step in ended.steps]
    assert ["d-2"] == services.queue.started  # type: ignore[attr-defined]
    assert "d-1" == (await services.store.history("web-h5", "prod"))[0].request_id


async def test_live_deploy_is_left_alone(services: Services) -> None:
    """A running request whose worker still holds the lease is not touched."""
    await services.store.create(request("d-1", approvals=0))
    await services.store.claim(request("d-1"), "worker:alive")
    assert [] == await recover_orphans(services, "sweeper")


async def test_queued_head_without_a_job_is_started_again(services: Services) -> None:
    """A request queued at the head of its lane (its enqueue lost) is handed to a worker."""
    await services.store.create(request("d-1", approvals=0))
    await services.store.set_card("d-1", "C0DEPLOY", "1.1")
    assert ["d-1"] == await reconcile(services)
    assert ["d-1"] == services.queue.started  # type: ignore[attr-defined]


async def test_pending_request_without_a_card_is_announced_again(services: Services) -> None:
    """A pending request whose card was never posted gets its card job again."""
    await services.store.create(request("d-1"))
    assert ["d-1"] == await reconcile(services)
    assert ["d-1"] == services.queue.announced  # type: ignore[attr-defined]


async def test_lost_lease_stops_the_deploy(services: Services) -> None:
    """When the sweep has ended a request, its worker's next renewal reports the lease lost."""
    r = request("d-1", approvals=0)
    await services.store.create(r)
    await services.store.claim(r, "worker:slow")
    assert await services.store.renew_lease("d-1", "worker:slow")
    await services.store.redis.delete(services.store.key.lease("d-1"))  # it lapsed: gone?
    await services.store.finish_orphan(finish_record(r, "sweeper", State.FAILED, LOST))
    assert not await services.store.renew_lease("d-1", "worker:slow")


async def test_request_is_not_run_when_its_catalog_entry_changed(services: Services) -> None:
    """Approved against another version of the service's entry: it fails and runs nothing."""
    await services.store.create(request("d-1", approvals=0))  # revision "abc" is not current
    assert State.FAILED == await run_request(services, "d-1", "worker")
    ended = await services.store.get("d-1")
    assert ended is not None and "catalog entry of web-h5 changed" in ended.failure


class RenewsInTime:
    """The store, as seen by a sweep that found d-1's lease lapsed just as its worker renewed."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def orphans(self) -> list[str]:
        await self._store.renew_lease("d-1", "worker:slow")
        return ["d-1"]


async def test_an_orphan_whose_worker_renews_in_time_runs_on(services: Services) -> None:
    """The lease renewed between the sweep's look and its end of the run: nothing is ended."""
    r = request("d-1", approvals=0)
    await services.store.create(r)
    await services.store.claim(r, "worker:slow")
    sweeping = replace(services, store=RenewsInTime(services.store))  # type: ignore[arg-type]
    assert [] == await recover_orphans(sweeping, "sweeper")
    running = await services.store.get("d-1")
    assert running is not None and State.RUNNING == running.state
    assert [] == await services.store.history("web-h5", "prod")
