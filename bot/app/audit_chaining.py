"""A worker's audit chainer: it hashes the audit entries waiting in the inbox into the chain
(Store.chain_audit) every second, and at once when nudged (after each job the worker ends),
so an entry is chained within about a second of its change even when nobody reads the trail."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.ports.store import Store, StoreUnavailable

CHAIN_SECONDS = 1.0  # the longest an entry waits in the inbox while a worker runs

log = logging.getLogger(__name__)


async def keep_chaining(store: Store, nudged: asyncio.Event) -> None:
    """Chain until cancelled; Redis being away, or a round that fails, only delays it."""
    while True:
        nudged.clear()
        try:
            await store.chain_audit()
        except StoreUnavailable:
            log.warning("could not chain the audit trail; Redis unavailable")
        except Exception:  # Redis refused it, or a bug: it must not end the chaining for good
            log.exception("could not chain the audit trail")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(nudged.wait(), CHAIN_SECONDS)
