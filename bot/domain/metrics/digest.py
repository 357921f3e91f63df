"""The weekly digest: the all-services card, posted on the catalog's schedule without anyone
asking (``notify.metrics_digest``: channel, cron, timezone, period).

Every worker asks each minute whether a scheduled instant is due; ``claim_once`` in the store
lets exactly one of them post it, however many run. The instant due is the latest one at or
before now, in the digest's time zone. If no worker was running then, the first one that runs
within ``LATE_LIMIT`` of it (and before the next instant) posts it late, once; an instant later
than that is skipped, since a digest a day late is news no more.

The digest covers the ``period`` (default ``7d``) of whole days before the day it is posted, in
the catalog's time zone (the aggregates' days): "0 9 * * MON" with 7d reads Monday to Sunday
of the week before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from bot.catalog.model import MetricsDigest
from bot.domain.metrics.days import today
from bot.domain.metrics.period import Period, parse_period
from bot.domain.services import Services

LATE_LIMIT = 24 * 3600.0  # seconds: how late a missed digest may still be posted
CLAIM_MARGIN = 3600  # seconds the claim outlives the window in which it can be taken


@dataclass(frozen=True)
class Due:
    """One scheduled instant of the digest, and the one after it."""

    at: datetime
    after: datetime

    @property
    def name(self) -> str:
        """What ``claim_once`` is asked for: one claim per scheduled instant."""
        return f"metrics-digest:{int(self.at.timestamp())}"

    @property
    def ttl(self) -> int:
        window = min(LATE_LIMIT, (self.after - self.at).total_seconds())
        return math.ceil(window) + CLAIM_MARGIN


@dataclass(frozen=True)
class Digest:
    """A digest to post now: where, over which days, and for which scheduled instant."""

    channel: str
    period: Period
    due: Due


def due(digest: MetricsDigest, now: float) -> Due | None:
    """The latest scheduled instant at or before ``now`` (epoch seconds), while it may still
    be posted: less than LATE_LIMIT ago. The next instant always replaces it."""
    zone = ZoneInfo(digest.timezone)
    base = datetime.fromtimestamp(math.floor(now) + 1, zone)  # croniter's prev is strictly before
    at = croniter(digest.cron, base).get_prev(datetime)
    after = croniter(digest.cron, at).get_next(datetime)
    if now - at.timestamp() >= LATE_LIMIT:
        return None
    return Due(at, after)


def digest_period(digest: MetricsDigest, catalog_zone: str, at: datetime) -> Period:
    """The whole days before the day of ``at``, in the catalog's time zone."""
    day_before = today(catalog_zone, at.timestamp()) - timedelta(days=1)
    return parse_period(digest.period, day_before)


async def claim(services: Services, now: float) -> Digest | None:
    """The digest this worker must post now, or None: none configured, none due, or another
    worker took it."""
    digest = services.catalog.notify.metrics_digest
    found = due(digest, now) if digest is not None else None
    if digest is None or found is None:
        return None
    if not await services.store.claim_once(found.name, found.ttl):
        return None
    return Digest(digest.channel, digest_period(digest, services.catalog.timezone, found.at), found)
