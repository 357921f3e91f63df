"""What a run's end means for the delivery metrics, worked out before the end is recorded:
whether its environment counts, its day, and the earlier deploy it shows failed (the release a
/rollback undid, or the one a hotfix mends: the latest successful production deploy)."""

from __future__ import annotations

from bot.catalog.model import Catalog
from bot.domain.metrics.days import day_of
from bot.domain.services import Services
from bot.models import Action, HistoryEntry
from bot.ports.metrics import LastRelease, Mark


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
    """:func:`mark_of`, with what it needs read from the store."""
    if not counts(services.catalog, entry.service, entry.environment):
        return mark_of(services.catalog, entry, None, None)
    undone_at, last = None, None
    if entry.undoes:
        undone = await services.store.get(entry.undoes)
        undone_at = undone.finished_at if undone is not None else None
    elif entry.hotfix:
        last = await services.store.last_release(entry.service, entry.environment)
    return mark_of(services.catalog, entry, undone_at, last)
