"""What a /metrics card shows, as values: each figure for the period and the one before, with
its DORA level where it has one, the weekly bars of the chart, and one line per service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.domain.metrics.levels import Level
from bot.domain.metrics.period import Period


class Unit(StrEnum):
    PER_DAY = "per day"
    PER_WEEK = "per week"
    PER_MONTH = "per month"
    SECONDS = "seconds"  # a duration
    SHARE = "share"  # 0..1, shown as a percentage
    PERCENT = "percent"  # already 0..100 (coverage)


@dataclass(frozen=True)
class Value:
    """A figure's number, or why there is none in a word or two ("no deploys", "no source")."""

    number: float | None
    missing: str = ""


@dataclass(frozen=True)
class Figure:
    key: str  # stable: deploys_per_day, lead_time, change_fail_rate, ... (see FIGURES)
    label: str
    unit: Unit
    now: Value
    before: Value
    higher_is_better: bool
    dora: bool = False  # one of DORA's five
    level: Level | None = None  # DORA: the level of ``now`` (None: no number, or no levels)

    @property
    def change(self) -> float | None:
        """Percent change from ``before`` to ``now``; None when either is missing or before
        is 0 (no percentage of nothing)."""
        now, before = self.now.number, self.before.number
        if now is None or before is None or before == 0:
            return None
        return (now - before) / before * 100


@dataclass(frozen=True)
class WeekBar:
    """One week of the chart: production deploys by how they ended, and the median lead time."""

    start: date  # its Monday
    succeeded: int
    failed: int
    rolled_back: int
    lead_median: float | None  # seconds; None when no commit's lead time is known that week


@dataclass(frozen=True)
class ServiceLine:
    service: str
    deploys: int  # production deploys that ended in the period
    change_fail_rate: Value
    lead_time: Value


@dataclass(frozen=True)
class Summary:
    scope: str  # the service, or "all services"
    period: Period
    previous: Period
    figures: tuple[Figure, ...]  # DORA's five first, then the team's own
    weeks: tuple[WeekBar, ...]
    services: tuple[ServiceLine, ...]  # all services: one line each; one service: none
    environments: tuple[str, ...]  # the production environments counted, "web-h5/prod"
    notes: tuple[str, ...] = ()  # what could not be read, for a line under the figures

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)
