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

    @property
    def starts(self) -> list[date]:
        """The Monday of the week each part (weeks first, then days) belongs to."""
        return [*self.mondays, *(d - timedelta(days=d.weekday()) for d in self.days)]


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
    """A period's aggregates: ``days[i]`` holds the week or day that starts the week
    ``starts[i]``."""

    starts: list[date]
    days: list[Day]


async def read(store: Store, places: Sequence[tuple[str, str]], period: Period) -> Parts:
    """The period's parts, added up over ``places`` (service, environment)."""
    span = span_of(period)
    mondays, days = [m.isoformat() for m in span.mondays], [d.isoformat() for d in span.days]
    per_place = [
        [*await store.metric_weeks(*place, mondays), *await store.metric_days(*place, days)]
        for place in places
    ]
    found = added(per_place) or [Day() for _ in span.starts]
    return Parts(span.starts, found)
