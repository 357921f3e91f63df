"""Read-only views of a service: what runs where, what is waiting, what happened."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.catalog.model import Catalog
from bot.domain.grammar import Examples
from bot.domain.holds import holds_in
from bot.domain.lookup import Refused, choices, environment_of, service_of
from bot.domain.services import Services
from bot.models import AuditEvent, Deployed, DeployRequest, HistoryEntry, State, Workers
from bot.ports.locks import Hold, Lock


@dataclass(frozen=True)
class EnvironmentStatus:
    environment: str
    running: dict[str, Deployed]  # data centre ("" when none) -> what runs there
    open: list[DeployRequest]
    lock: Lock | None = None
    holds: list[Hold] = field(default_factory=list)


async def status(services: Services, service: str) -> list[EnvironmentStatus]:
    environments = _environments(services, service)
    open_requests = await services.store.open_requests(service)
    return [
        EnvironmentStatus(
            env,
            await services.store.current(service, env),
            [r for r in open_requests if r.environment == env],
            await services.store.lock_of(service, env),
            await holds_in(services, service, env),
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


@dataclass(frozen=True)
class AuditPage:
    """The newest events that match, and how many matched in all (a service's: among the
    newest AUDIT_WINDOW; a request's: all it has, found by the audit index)."""

    events: list[AuditEvent]
    matched: int
    windowed: bool = False  # a service's events, looked for among the newest AUDIT_WINDOW


AUDIT_WINDOW = 2000  # a service's events are looked for among this many newest


async def audit(services: Services, subject: str | None, limit: int = 20) -> AuditPage:
    """The newest audit events, optionally only those of one request id (however old, within
    retention) or service; Refused when the subject is neither a catalogued service nor a
    request on record."""
    if not subject:
        events = await services.store.audit_trail(count=limit)
        return AuditPage(events, await services.store.audit_length())
    if subject in services.catalog.services:
        events = await services.store.audit_trail(count=AUDIT_WINDOW)
        matching = [e for e in events if e.service == subject]
        return AuditPage(matching[:limit], len(matching), windowed=True)
    events, matched = await services.store.audit_of(subject, limit)
    if not events and not await services.store.get(subject):
        raise Refused(
            f"`{subject}` is neither a service in the catalog nor a request on record. "
            f"Services: {choices(services.catalog.services)}."
        )
    return AuditPage(events, matched)


async def workers(services: Services) -> Workers:
    return await services.store.workers()


def examples(catalog: Catalog) -> Examples:
    """Names for the help's examples from the catalog: its first service, and that service's
    production environment (``prod`` or ``production``) or else its last one."""
    name, service = next(iter(catalog.services.items()))
    environments = list(service.environments)
    production = [e for e in environments if e in ("prod", "production")]
    return Examples(service=name, environment=(production or environments)[-1])


def _environments(services: Services, service: str) -> list[str]:
    return list(service_of(services.catalog, service).environments)
