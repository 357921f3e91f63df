"""What workers check periodically, so nothing waits forever.

Every 5 seconds (``recover_orphans``): deploys whose worker died (lease lapsed and still
lapsed after a grace) end as failed and free their lane. Every 30 seconds (``sweep``):

- pending requests past their approval window expire;
- a lane whose head is queued gets its job (again), and a request without a card gets one,
  in case the enqueue after a Redis write did not happen (arq dedupes by job id).
"""

from __future__ import annotations

import time

from bot.domain.finish import finish_orphan
from bot.domain.progress import settled
from bot.domain.run import RunOutcome, cut_off
from bot.domain.services import Services
from bot.logcontext import bound
from bot.models import DeployRequest, State
from bot.ports.store import ExpireOutcome

LOST = "the worker running this deploy stopped unexpectedly; check the targets before retrying"


async def sweep(services: Services, worker: str) -> list[str]:
    """The 30-second checks; returns the ids of the requests they acted on."""
    return [*await expire_stale(services, worker), *await reconcile(services)]


async def recover_orphans(services: Services, worker: str) -> list[str]:
    recovered = []
    for request_id in await services.store.orphans():
        request = await services.store.get(request_id)
        if request is None:
            continue
        result = cut_off(request.steps, {}, LOST, RunOutcome.FAILED)
        with bound(request):
            state = await finish_orphan(services, settled(request, result), worker, result)
        if state is not State.RUNNING:  # still running: its worker renewed the lease meanwhile
            recovered.append(request_id)
    return recovered


async def expire_stale(services: Services, actor: str) -> list[str]:
    expired = []
    for request in await _open(services):
        overdue = request.state is State.PENDING and request.expires_at < time.time()
        if overdue and await services.store.expire(request, actor) is ExpireOutcome.EXPIRED:
            expired.append(request.id)
            with bound(request):
                await services.notifier.show(request.id)
    return expired


async def reconcile(services: Services) -> list[str]:
    nudged = []
    for request in await _open(services):
        lane = await services.store.lane_of(request)
        if request.state is State.QUEUED and lane[:1] == [request.id]:
            await services.queue.start(request.id)
            nudged.append(request.id)
        elif not request.card_ts and request.state is not State.RUNNING:
            await services.queue.announce(request.id)
            nudged.append(request.id)
    return nudged


async def _open(services: Services) -> list[DeployRequest]:
    return [r for s in services.catalog.services for r in await services.store.open_requests(s)]
