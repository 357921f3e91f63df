"""A running deploy's lease: renewed while its worker lives; lost when the sweep ended it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.domain.services import Services
from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)


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
        if not held:
            log.error("lease of %s lost: it was ended elsewhere; stopping", request_id)
            if deploy is not None:
                deploy.cancel()
            return
