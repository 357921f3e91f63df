"""`shipbot metrics rebuild`: the day aggregates recomputed from history.

Clears every aggregate, then replays each production environment's history, oldest first,
through the same step that records a run's end (without the Prometheus totals, which are
counters since the store began), then the lead times recorded before. Run it after changing
which environments count as production or the catalog's time zone; deploys that end while it
runs may be counted twice, so run it when none is running.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.model import Catalog
from bot.domain.metrics.days import day_of
from bot.domain.metrics.marks import mark_of
from bot.models import Action, HistoryEntry, State
from bot.ports.metrics import LastRelease
from bot.ports.store import Store

HISTORY_READ = 100_000  # more than the store keeps per service and environment


@dataclass(frozen=True)
class Rebuilt:
    runs: int  # history entries replayed
    leads: int  # deploys whose lead times were replayed


async def rebuild(store: Store, catalog: Catalog) -> Rebuilt:
    await store.clear_metrics()
    runs = leads = 0
    for name, service in catalog.services.items():
        for environment in service.production():
            entries = list(reversed(await store.history(name, environment, HISTORY_READ)))
            runs += await _replay(store, catalog, entries)
            leads += await _replay_leads(store, catalog, (name, environment), entries)
    return Rebuilt(runs, leads)


async def _replay_leads(
    store: Store, catalog: Catalog, where: tuple[str, str], entries: list[HistoryEntry]
) -> int:
    """Each deploy's lead times, on its day in the catalog's time zone now (the day recorded
    with them when its run is no longer in history)."""
    ended = {e.request_id: e.finished_at for e in entries}
    records = await store.lead_records(*where)
    for request_id, record in records.items():
        at = ended.get(request_id)
        day = day_of(at, catalog.timezone) if at is not None else record.day
        await store.replay_lead_times(*where, request_id, day, record.leads)
    return len(records)


async def _replay(store: Store, catalog: Catalog, oldest_first: list[HistoryEntry]) -> int:
    ended_at = {e.request_id: e.finished_at for e in oldest_first if e.action is Action.DEPLOY}
    last: LastRelease | None = None
    for entry in oldest_first:
        found = mark_of(catalog, entry, ended_at.get(entry.undoes), last)
        await store.add_metrics(entry, found, tally=False)
        if entry.action is Action.DEPLOY and entry.state is not State.FAILED:
            last = LastRelease(entry.request_id, found.day, entry.finished_at, entry.version)
    return len(oldest_first)
