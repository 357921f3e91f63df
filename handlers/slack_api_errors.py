"""Slack Web API calls that failed, counted by method and Slack's error code (or the transport
failure's kind) in the store's running tally, so ``GET /metrics`` on any replica shows those of
every process, workers included (they make most of the calls and serve no HTTP)."""

from __future__ import annotations

import logging

from bot.ports.store import Store, StoreFailed, StoreUnavailable

log = logging.getLogger(__name__)


async def count_failure(store: Store, method: str, error: str) -> None:
    """Count it; Redis unavailable too, it goes uncounted (a scrape then fails as well)."""
    try:
        await store.count_slack_error(method, error)
    except (StoreUnavailable, StoreFailed) as failure:
        log.info("Slack %s error %s not counted: %s", method, error, failure)
