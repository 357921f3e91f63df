"""Calendar days in the catalog's time zone: what the metrics aggregates are kept by."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def day_of(at: float, zone: str) -> str:
    """The day (YYYY-MM-DD) instant ``at`` (epoch seconds) falls on in ``zone``."""
    return datetime.fromtimestamp(at, ZoneInfo(zone)).date().isoformat()


def today(zone: str, now: float | None = None) -> date:
    moment = (
        datetime.now(ZoneInfo(zone)) if now is None else datetime.fromtimestamp(now, ZoneInfo(zone))
    )
    return moment.date()
