"""What the unit tests of a deploy run share: a catalog with a three data centre service, the
domain's services over a real redis-server with recording deployer, health check, notifier
and queue, and helpers to queue requests (waiting for conditions is tests/waiting.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bot.catalog.model import Catalog, load_catalog
from bot.domain.requests import entry_revision
from bot.domain.services import Services
from bot.models import Action, DeployRequest, HistoryEntry, Step
from bot.ports.notify import JobQueue, Notifier
from bot.ports.store import Store
from bot.store.requests import RedisStore
from tests.fakes.deployers import RecordingDeployer, ScriptedHealth
from tests.fakes.recorders import FixedDirectory, RecordingNotifier, RecordingQueue
from tests.stack import PLAYBOOKS

SERVICE = "multi"
PROJECT = "shop/multi"  # its code, when a test gives the services a GitLab source
CATALOG = f"""
notify:
  releases_channel: C0RELEASES
services:
  {SERVICE}:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    source: {{gitlab_project: {PROJECT}, tag_format: "release-{{version}}"}}
    environments:
      prod: {{datacenters: [dc-a, dc-b, dc-c]}}
      checked:
        datacenters: [dc-a, dc-b]
        health_check: {{url: "http://127.0.0.1:9/{{datacenter}}", max_attempts: 1}}
      kept: {{datacenters: [dc-a, dc-b], rollback_on_failure: false}}
      single: {{}}
"""
LEASE_SECONDS = 2  # renewed every half second


def _as_is(thing: Any) -> Any:
    return thing


@dataclass
class Kit:
    """The services of a run, and the recorders behind them."""

    services: Services
    store: RedisStore
    deployer: RecordingDeployer
    health: ScriptedHealth
    notifier: RecordingNotifier
    queue: RecordingQueue

    @property
    def catalog(self) -> Catalog:
        return self.services.catalog

    async def queued(
        self, rid: str, version: str = "v2", environment: str = "prod", **fields: Any
    ) -> DeployRequest:
        """A request that needed no approval: queued in its lane."""
        request = new_request(self.catalog, rid, version, environment, **fields)
        await self.store.create(request)
        return request

    async def running(self, environment: str, version: str, targets: list[str]) -> None:
        """``version`` runs on ``targets`` (put there by an earlier request)."""
        earlier = new_request(self.catalog, f"d-{version}", version, environment)
        for target in targets:
            await self.store.record_deployed(earlier, target)

    async def ended(self, rid: str) -> DeployRequest:
        request = await self.store.get(rid)
        assert request is not None
        return request

    async def history(self, environment: str = "prod") -> list[HistoryEntry]:
        return await self.store.history(SERVICE, environment, 100)


def build_kit(catalog_dir: Path, store: RedisStore, wrap: Callable[[Any], Any] = _as_is) -> Kit:
    """The kit; ``wrap`` wraps the store, the queue and the notifier (e.g. in Blips)."""
    path = catalog_dir / "catalog.yaml"
    path.write_text(CATALOG)
    deployer, health = RecordingDeployer(), ScriptedHealth()
    notifier, queue = RecordingNotifier(), RecordingQueue()
    services = Services(
        catalog=load_catalog(path),
        store=cast(Store, wrap(store)),
        notifier=cast(Notifier, wrap(notifier)),
        directory=FixedDirectory(),
        queue=cast(JobQueue, wrap(queue)),
        deployer_for=deployer,
        health=health,
    )
    return Kit(services, store, deployer, health, notifier, queue)


def new_request(
    catalog: Catalog, rid: str, version: str, environment: str, **fields: Any
) -> DeployRequest:
    env = catalog.services[SERVICE].environments[environment]
    return DeployRequest(
        id=rid,
        action=fields.pop("action", Action.DEPLOY),
        service=SERVICE,
        environment=environment,
        version=version,
        requester="U0DEV",
        channel="C0DEPLOY",
        catalog_revision=entry_revision(catalog, SERVICE),
        expires_at=time.time() + 3600,
        steps=[Step(target=t) for t in env.targets()],
        **fields,
    )
