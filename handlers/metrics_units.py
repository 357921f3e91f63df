"""A metrics figure in words people read: durations as "2h 5m" or "3.2 days", shares as
percentages, rates as "1.9 per day"; a change as an arrow and a percentage."""

from __future__ import annotations

from bot.domain.metrics.summary import Figure, Unit, Value

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def value_text(unit: Unit, value: Value) -> str:
    """The value in its unit, or the word that says why there is none."""
    if value.number is None:
        return value.missing or "no data"
    return shown(unit, value.number)


def shown(unit: Unit, number: float) -> str:
    match unit:
        case Unit.SECONDS:
            return duration(number)
        case Unit.SHARE:
            return percent(number * 100)
        case Unit.PERCENT:
            return percent(number)
    return f"{amount(number)} {unit.value}"  # per day, per week, per month


def duration(seconds: float) -> str:
    """42s, 5m, 2h 5m, 3.2 days."""
    if seconds < MINUTE:
        return f"{round(seconds)}s"
    if seconds < HOUR:
        return f"{round(seconds / MINUTE)}m"
    if seconds < DAY:
        hours, minutes = divmod(round(seconds / MINUTE), 60)
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days = seconds / DAY
    return f"{amount(days)} day" if amount(days) == "1" else f"{amount(days)} days"


def percent(number: float) -> str:
    """12.5%, 20%, 100%."""
    return f"{number:.1f}".removesuffix(".0") + "%"


def amount(number: float) -> str:
    """A count or a rate: whole from 10 (13), one decimal from 0.1 (1.9, 0.3), two
    significant digits below (0.033), so a rate that is not nothing never reads 0."""
    if number >= 10:
        return f"{number:.0f}"
    if number >= 0.095 or number == 0:
        return f"{number:.1f}".removesuffix(".0")
    return f"{number:.2g}"


def change_text(figure: Figure) -> str:
    """↑ 12% (better), ↓ 40% (worse), unchanged, new (nothing before), or "" (nothing now)."""
    now, before = figure.now.number, figure.before.number
    if now is None:
        return ""
    if before is None or (before == 0 and now != 0):
        return "new"
    change = figure.change
    if change is None or round(change) == 0:
        return "unchanged"
    better = (change > 0) == figure.higher_is_better
    arrow = "↑" if change > 0 else "↓"
    return f"{arrow} {abs(change):.0f}% ({'better' if better else 'worse'})"
