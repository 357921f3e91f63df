"""Deployments GitLab ran without shipbot, recorded in the same history as shipbot's own.

A Deployment hook names a project and a GitLab environment; the catalog says which service,
environment and data centres that is (a gitlab service whose ``project`` and ``environment``
options match). A worker then asks GitLab about the deployment, because only GitLab can say
whether a shipbot pipeline ran it (its variables carry SHIPBOT_REQUEST_ID).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.catalog.model import Catalog
from bot.domain.metrics.marks import mark
from bot.domain.services import Services
from bot.models import Action, Deployed, HistoryEntry, State
from bot.ports.deployer import (
    DeployError,
    DeployUnreachable,
    Lookup,
    ToolDeployment,
    pipeline_topic,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HookTarget:
    service: str
    environment: str
    targets: list[str]


@dataclass(frozen=True)
class Announced:
    """What a Deployment hook says: which project, which GitLab environment, which status."""

    project_id: int
    project_path: str
    environment: str
    status: str


async def pipeline_changed(services: Services, project_id: int, pipeline_id: int) -> None:
    """A Pipeline or Job hook: wake the worker following that pipeline, if any."""
    await services.store.tell(pipeline_topic(project_id, pipeline_id))


async def deployment_announced(
    services: Services, hook: Announced, deployment_id: int
) -> str | None:
    """A Deployment hook: have a worker record it (None), or say why it is ignored."""
    where = hook_targets(services.catalog, hook.project_id, hook.project_path, hook.environment)
    if not where:
        project = hook.project_path or hook.project_id
        return f"{project} environment {hook.environment} is not in the catalog"
    if hook.status != "success":
        return f"deployment status {hook.status}"
    await services.queue.record_external(hook.project_id, deployment_id)
    return None


def hook_targets(catalog: Catalog, project_id: int, path: str, gl_env: str) -> list[HookTarget]:
    """The catalogued service environments (and their data centres) a GitLab environment is."""
    found = []
    for name, service in catalog.services.items():
        for env_name, env in service.environments.items() if service.deployer == "gitlab" else ():
            targets = [
                t
                for t in env.targets()
                if _same(service.options_for(env_name, t), project_id, path, env_name, gl_env)
            ]
            found += [HookTarget(name, env_name, targets)] if targets else []
    return found


def _same(options: dict[str, Any], project_id: int, path: str, env: str, gl_env: str) -> bool:
    return (
        options["project"] in (str(project_id), path) and options.get("environment", env) == gl_env
    )


async def record_external(
    services: Services, lookup: Lookup, project_id: int, deployment_id: int
) -> list[str]:
    """Record one GitLab deployment unless shipbot ran it; returns what was recorded. Raises
    DeployUnreachable when GitLab can't be asked now (the worker tries again later)."""
    try:
        facts = await lookup(project_id, deployment_id)
    except DeployUnreachable:
        raise
    except DeployError as error:
        log.warning("GitLab deployment %s/%s not recorded: %s", project_id, deployment_id, error)
        return []
    if facts.by_shipbot or facts.status != "success":
        return []
    hits = hook_targets(services.catalog, facts.project_id, facts.project_path, facts.environment)
    recorded = []
    for hit in hits:
        entry, deployed = _entry(facts, deployment_id, hit)
        if await services.store.record_external(entry, deployed, await mark(services, entry)):
            recorded.append(f"{hit.service} {hit.environment}")
    return recorded


def _entry(
    facts: ToolDeployment, deployment_id: int, hit: HookTarget
) -> tuple[HistoryEntry, Deployed]:
    rid, at = f"gitlab-{facts.project_id}-{deployment_id}", facts.finished_at or time.time()
    who = f"{facts.user} (GitLab)"
    entry = HistoryEntry(
        request_id=rid,
        action=Action.DEPLOY,
        service=hit.service,
        environment=hit.environment,
        version=facts.ref,
        state=State.SUCCEEDED,
        requester=who,
        approvers=[],
        targets={t: "succeeded" for t in hit.targets},
        started_at=at,
        finished_at=at,
        source="gitlab",
    )
    return entry, Deployed(version=facts.ref, request_id=rid, requester=who, at=at)
