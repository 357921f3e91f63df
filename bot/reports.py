"""Read-only views of a service: what runs where, what is waiting, what happened."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import AuditEvent, Deployed, DeployRequest, HistoryEntry, State
from bot.requests import environment_of, service_of
from bot.services import Services


@dataclass(frozen=True)
class EnvironmentStatus:
    environment: str
    running: dict[str, Deployed]  # data centre ("" when none) -> what runs there
    open: list[DeployRequest]


async def status(services: Services, service: str) -> list[EnvironmentStatus]:
    environments = _environments(services, service)
    open_requests = await services.store.open_requests(service)
    return [
        EnvironmentStatus(
            env,
            await services.store.current(service, env),
            [r for r in open_requests if r.environment == env],
        )
        for env in environments
    ]


async def history(
    services: Services, service: str, environment: str | None, limit: int = 10
) -> list[HistoryEntry]:
    if environment is not None:
        environment_of(services.catalog, service, environment)
        environments = [environment]
    else:
        environments = _environments(services, service)
    entries = [e for env in environments for e in await _marked(services, service, env, limit)]
    return sorted(entries, key=lambda e: e.finished_at, reverse=True)[:limit]


async def _marked(
    services: Services, service: str, environment: str, limit: int
) -> list[HistoryEntry]:
    """History with the releases a rollback undid shown as rolled back."""
    undone = await services.store.rolled_back(service, environment)
    entries = await services.store.history(service, environment, limit)
    rolled = {"state": State.ROLLED_BACK}
    return [e.model_copy(update=rolled) if e.request_id in undone else e for e in entries]


async def audit(services: Services, subject: str | None, limit: int = 20) -> list[AuditEvent]:
    """The newest audit events, optionally only those of one request id or service."""
    events = await services.store.audit_trail(count=2000 if subject else limit)
    if subject:
        events = [e for e in events if subject in (e.request_id, e.service)]
    return events[:limit]


def _environments(services: Services, service: str) -> list[str]:
    return list(service_of(services.catalog, service).environments)
