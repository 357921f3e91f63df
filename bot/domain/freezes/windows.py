"""The catalog's planned freeze windows as frozen spans: every ``cron`` instant for
``duration``, or once ``from`` ``to``; local times in the window's ``timezone`` or, unset, the
catalog's."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from bot.catalog.governance import Freeze, FreezeWindow, duration_seconds
from bot.domain.freezes.spans import Source, Span

MAX_OCCURRENCES = 2000  # a cron line firing every minute still ends its search


def window_spans(freeze: Freeze, zone: str, start: float, end: float) -> list[Span]:
    """The windows' frozen spans that meet [start, end)."""
    spans: list[Span] = []
    for window in freeze.windows:
        where = ZoneInfo(window.timezone or zone)
        spans += _repeating(window, where, start, end) if window.cron else _dated(window, where)
    return [s for s in spans if s.end > start and s.start < end]


def _repeating(window: FreezeWindow, zone: ZoneInfo, start: float, end: float) -> list[Span]:
    """Each cron instant whose window reaches past ``start``, up to ``end``."""
    length = duration_seconds(window.duration or "") or 0
    instants = croniter(window.cron or "", datetime.fromtimestamp(start - length, zone))
    spans = []
    for _ in range(MAX_OCCURRENCES):
        opens = instants.get_next(datetime).timestamp()
        if opens >= end:
            break
        spans.append(Span(opens, opens + length, window.reason, Source.WINDOW))
    return spans


def _dated(window: FreezeWindow, zone: ZoneInfo) -> list[Span]:
    opens, closes = (_local(str(t), zone) for t in (window.start, window.end))
    return [Span(opens, closes, window.reason, Source.WINDOW)]


def _local(text: str, zone: ZoneInfo) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()
