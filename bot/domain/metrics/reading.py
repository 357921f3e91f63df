"""Reading a period's aggregates: its whole weeks (Monday to Sunday) from the week aggregates,
its other days from the day aggregates, so a 90-day period reads about 13 weeks and a few
days, however busy those days were."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.metrics.period import Period
from bot.domain.metrics.totals import added
from bot.ports.metrics import Day
from bot.ports.store import Store

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Span:
    mondays: tuple[date, ...]  # the weeks wholly inside the period
    days: tuple[date, ...]  # its other days


def span_of(period: Period) -> Span:
    mondays, days, day = [], [], period.first
    while day <= period.last:
        if day.weekday() == 0 and day + timedelta(days=6) <= period.last:
            mondays.append(day)
            day += WEEK
        else:
            days.append(day)
            day += timedelta(days=1)
    return Span(tuple(mondays), tuple(days))


@dataclass(frozen=True)
class Parts:
    """A period's aggregates, added up by Redis: ``days[i]`` holds what the week starting
    ``starts[i]`` holds within the period (one part per week of the chart), or, read
    ``whole``, the whole period in one."""

    starts: list[date]
    days: list[Day]


async def read(
    store: Store, places: Sequence[tuple[str, str]], period: Period, *, whole: bool = False
) -> Parts:
    """The period's parts (by week, or ``whole``), added up over ``places`` (service,
    environment)."""
    span = span_of(period)
    by_week: dict[date, tuple[list[str], list[str]]] = {}
    for monday in span.mondays:
        by_week.setdefault(monday, ([], []))[0].append(monday.isoformat())
    for day in span.days:
        by_week.setdefault(day - timedelta(days=day.weekday()), ([], []))[1].append(day.isoformat())
    starts = sorted(by_week)
    groups = [by_week[monday] for monday in starts]
    if whole:
        starts = starts[:1]
        groups = [([m for g in groups for m in g[0]], [d for g in groups for d in g[1]])]
    per_place = [await store.metric_groups(*place, groups) for place in places]
    return Parts(starts, added(per_place) or [Day() for _ in starts])
