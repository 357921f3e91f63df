"""A running deploy's lease: renewed while its worker lives; lost when the sweep ended it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from bot.domain.services import Services
from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


async def under_lease(
    services: Services, request_id: str, worker: str, work: Awaitable[T], *, stop_when_lost: bool
) -> T:
    """Await ``work`` while the lease is renewed, so the sweep leaves the run alone. When the
    lease turns out lost (the run was ended elsewhere), ``stop_when_lost`` cancels this task."""
    deploy = asyncio.current_task() if stop_when_lost else None
    lease = asyncio.create_task(keep_lease(services, request_id, worker, deploy))
    try:
        return await work
    finally:
        lease.cancel()


async def keep_lease(
    services: Services, request_id: str, worker: str, deploy: asyncio.Task[Any] | None
) -> None:
    """Renew until cancelled; if the request is no longer ours, stop the deploy at once."""
    while True:
        await asyncio.sleep(services.store.lease_seconds / 4)
        try:
            held = await services.store.renew_lease(request_id, worker)
        except StoreUnavailable:
            log.warning("could not renew the lease of %s; Redis unavailable", request_id)
            continue
        except Exception:  # a bug must not end the renewals silently: the sweep would step in
            log.exception("renewing the lease of %s broke; trying again", request_id)
            continue
        if not held:
            _lost(request_id, deploy)
            return


def _lost(request_id: str, deploy: asyncio.Task[Any] | None) -> None:
    """The run was ended elsewhere: stop its deploy, if there is one to stop."""
    if deploy is None:  # recording its end: that record may be what ended it
        log.info("lease of %s ended while its end was being recorded", request_id)
        return
    log.error("lease of %s lost: it was ended elsewhere; stopping", request_id)
    deploy.cancel()
