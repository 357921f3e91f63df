"""The periods /metrics reads: ``7d``, ``30d`` (the default), ``90d``, ``quarter`` and
``2026-10-01..2026-12-01`` (both days included), each compared with the period before it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.grammar import UsageError

DEFAULT = "30d"
MAX_DAYS = 400
_DAYS = re.compile(r"(\d{1,3})d")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
PERIOD_HINT = "`7d`, `30d`, `90d`, `quarter` or `2026-10-01..2026-12-01`"


@dataclass(frozen=True)
class Period:
    """Calendar days ``first`` to ``last``, both included."""

    first: date
    last: date
    label: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period just before, as long as this one (the quarter before, for a quarter)."""
        if self.label == "quarter":
            last = self.first - timedelta(days=1)
            return Period(_quarter_start(last), last, "previous quarter")
        last = self.first - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, "previous period")

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def looks_like_period(word: str) -> bool:
    return bool(_DAYS.fullmatch(word) or _RANGE.fullmatch(word) or word == "quarter")


def parse_period(word: str, today: date) -> Period:
    """``word`` as a period ending ``today`` (a range ends where it says); UsageError else."""
    if word == "quarter":
        return Period(_quarter_start(today), today, "quarter")
    if found := _DAYS.fullmatch(word):
        if int(found.group(1)) == 0:
            raise UsageError("A period is at least one day long, e.g. `1d`.")
        return _checked(today - timedelta(days=int(found.group(1)) - 1), today, word)
    if found := _RANGE.fullmatch(word):
        first, last = (_day(found.group(i)) for i in (1, 2))
        return _checked(first, last, word)
    raise UsageError(f"`{word[:40]}` is not a period; use {PERIOD_HINT}.")


def _checked(first: date, last: date, label: str) -> Period:
    if last < first:
        raise UsageError(f"The period `{label}` ends before it starts.")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise UsageError(f"The period `{label}` is {days} days long; keep it to {MAX_DAYS}.")
    return Period(first, last, label)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"`{text}` is not a date (YYYY-MM-DD).") from None


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
