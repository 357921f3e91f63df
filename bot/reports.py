"""Read-only views of a service: what runs where, what is waiting, what happened."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import AuditEvent, Deployed, DeployRequest, HistoryEntry
from bot.requests import environment_of
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
        return await services.store.history(service, environment, limit)
    entries = [
        e
        for env in _environments(services, service)
        for e in await services.store.history(service, env, limit)
    ]
    return sorted(entries, key=lambda e: e.finished_at, reverse=True)[:limit]


async def audit(services: Services, subject: str | None, limit: int = 20) -> list[AuditEvent]:
    """The newest audit events, optionally only those of one request id or service."""
    events = await services.store.audit_trail(count=2000 if subject else limit)
    if subject:
        events = [e for e in events if subject in (e.request_id, e.service)]
    return events[:limit]


def _environments(services: Services, service: str) -> list[str]:
    if service not in services.catalog.services:
        environment_of(services.catalog, service, "")  # raises Refused naming the choices
    return list(services.catalog.services[service].environments)
