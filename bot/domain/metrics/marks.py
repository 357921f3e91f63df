"""What a run's end means for the delivery metrics, worked out before the end is recorded:
whether its environment counts, its day, and the earlier deploy it shows failed (the release a
/rollback undid, or the one a hotfix mends: the latest successful production deploy)."""

from __future__ import annotations

import logging

from bot.catalog.model import Catalog
from bot.domain.metrics.days import day_of
from bot.domain.services import Services
from bot.models import Action, HistoryEntry
from bot.ports.metrics import LastRelease, Mark
from bot.ports.store import StoreFailed

log = logging.getLogger(__name__)
HISTORY_SEARCH = 1000  # runs read back to find an undone release whose request has expired


def counts(catalog: Catalog, service: str, environment: str) -> bool:
    """Whether ``environment`` of ``service`` is production for the metrics."""
    entry = catalog.services.get(service)
    return entry is not None and environment in entry.production()


def mark_of(
    catalog: Catalog, entry: HistoryEntry, undone_at: float | None, last: LastRelease | None
) -> Mark:
    """``undone_at``: when the release a rollback undid ended; ``last``: the latest release."""
    day = day_of(entry.finished_at, catalog.timezone)
    if not counts(catalog, entry.service, entry.environment):
        return Mark(production=False, day=day)
    if entry.action is Action.ROLLBACK and entry.undoes and undone_at:
        undone_day = day_of(undone_at, catalog.timezone)
        return Mark(True, day, entry.undoes, undone_day, undone_at, "undone")
    if entry.action is Action.DEPLOY and entry.hotfix and last is not None:
        return Mark(True, day, last.request_id, last.day, last.at, "hotfixed")
    return Mark(production=True, day=day)


async def mark(services: Services, entry: HistoryEntry) -> Mark:
    """:func:`mark_of`, with what it needs read from the store. What cannot be read for a
    reason other than Redis being unavailable (which the caller retries) marks nothing earlier:
    the metrics never stand in the way of recording a run's end."""
    if not counts(services.catalog, entry.service, entry.environment):
        return mark_of(services.catalog, entry, None, None)
    undone_at, last = None, None
    try:
        if entry.undoes:
            undone_at = await _undone_deploy_end(services, entry)
        elif entry.hotfix:
            last = await services.store.last_release(entry.service, entry.environment)
    except (StoreFailed, ValueError):
        log.exception("the release %s shows failed could not be read", entry.request_id)
    return mark_of(services.catalog, entry, undone_at, last)


async def _undone_deploy_end(services: Services, rollback: HistoryEntry) -> float | None:
    """When the deploy a rollback undid ended; None when it was no deploy (a rollback of a
    rollback) or is not on record. Its request first, else its history entry (a deployment
    run outside shipbot, or a request expired since)."""
    undone = await services.store.get(rollback.undoes)
    if undone is not None:
        return undone.finished_at if undone.action is Action.DEPLOY else None
    ran = await services.store.history(rollback.service, rollback.environment, HISTORY_SEARCH)
    found = next((e for e in ran if e.request_id == rollback.undoes), None)
    return found.finished_at if found is not None and found.action is Action.DEPLOY else None
