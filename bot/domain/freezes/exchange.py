"""Trading sessions of an exchange, from exchange-calendars
(https://github.com/gerrymanoim/exchange_calendars), as frozen spans.

The library's table of a calendar is read once per process (importing it and building the
table is slow) into plain epoch seconds, one entry per session day. The library raises past
the end of its table, so days after it are never asked of it: up to the catalog's
``known_until`` they are weekdays with the calendar's regular hours, less the catalog's
``holidays``; past ``known_until`` the catalog's ``beyond_known`` decides (``frozen``: every
weekday session counts as trading; ``open``: nothing frozen), and the spans say so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.catalog.governance import Freeze
from bot.domain.freezes.spans import Source, Span

Session = tuple[float, float | None, float | None, float]  # open, break start, break end, close


@dataclass(frozen=True)
class Exchange:
    """One exchange's sessions as the library knows them, and its regular week."""

    name: str
    zone: ZoneInfo
    sessions: dict[date, Session]
    first: date
    last: date  # the last session of the library's table
    weekdays: frozenset[int]  # Monday = 0
    regular: tuple[time, time | None, time | None, time]  # open, break start, break end, close

    def regular_session(self, day: date) -> Session | None:
        """The session ``day`` would have on a regular week (None on a weekend)."""
        if day.weekday() not in self.weekdays:
            return None
        opens, break_start, break_end, closes = self.regular
        return (
            self._at(day, opens),
            None if break_start is None else self._at(day, break_start),
            None if break_end is None else self._at(day, break_end),
            self._at(day, closes),
        )

    def _at(self, day: date, clock: time) -> float:
        return datetime.combine(day, clock, self.zone).timestamp()


@functools.cache
def exchange(name: str) -> Exchange:
    """The exchange calendar ``name`` (e.g. XSHG), loaded once per process."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar(name)
    table = calendar.schedule
    columns = [table[c].tolist() for c in ("open", "break_start", "break_end", "close")]
    sessions = {
        day.date(): _session(*values) for day, *values in zip(table.index, *columns, strict=True)
    }
    return Exchange(
        name=name,
        zone=ZoneInfo(str(calendar.tz)),
        sessions=sessions,
        first=calendar.first_session.date(),
        last=calendar.last_session.date(),
        weekdays=frozenset(i for i, on in enumerate(calendar.weekmask) if on == "1"),
        regular=tuple(_latest(times) for times in _regular_times(calendar)),  # type: ignore[arg-type]
    )


def known_until(freeze: Freeze) -> date | None:
    """The last day the freeze's calendar is known for (None: it names no calendar)."""
    if freeze.calendar is None:
        return None
    return freeze.known_until or exchange(freeze.calendar).last


def calendar_spans(freeze: Freeze, start: float, end: float) -> list[Span]:
    """The frozen spans of ``freeze``'s calendar that meet [start, end)."""
    if freeze.calendar is None:
        return []
    market = exchange(freeze.calendar)
    first = datetime.fromtimestamp(start, market.zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, market.zone).date() + timedelta(days=1)
    spans: list[Span] = []
    for offset in range((last - first).days + 1):
        spans += _day_spans(freeze, market, first + timedelta(days=offset))
    return [s for s in spans if s.end > start and s.start < end]


def _day_spans(freeze: Freeze, market: Exchange, day: date) -> list[Span]:
    beyond = day > (freeze.known_until or market.last)
    if day in freeze.holidays or (beyond and freeze.beyond_known == "open"):
        return []
    in_table = market.first <= day <= market.last and not beyond
    session = market.sessions.get(day) if in_table else market.regular_session(day)
    if session is None:
        return []
    reason = f"{market.name} trading hours"
    margin = freeze.margin_minutes * 60
    return [Span(a, b, reason, Source.CALENDAR, beyond) for a, b in _trading(session, margin)]


def _trading(session: Session, margin: float) -> list[tuple[float, float]]:
    """The session's frozen parts: open to close widened by ``margin``, less the break
    narrowed by it (a break shorter than twice the margin is no break)."""
    opens, break_start, break_end, closes = session
    if break_start is None or break_end is None or break_end - break_start <= 2 * margin:
        return [(opens - margin, closes + margin)]
    return [(opens - margin, break_start + margin), (break_end - margin, closes + margin)]


def _session(*values: object) -> Session:
    opens, break_start, break_end, closes = (_epoch(v) for v in values)
    return opens or 0.0, break_start, break_end, closes or 0.0


def _epoch(value: object) -> float | None:
    """A pandas Timestamp as epoch seconds; NaT (no break that day) as None."""
    timestamp = getattr(value, "timestamp", None)
    try:
        return float(timestamp()) if timestamp else None
    except ValueError:  # NaT
        return None


def _regular_times(calendar: object) -> list[object]:
    names = ("open_times", "break_start_times", "break_end_times", "close_times")
    return [getattr(calendar, n) or () for n in names]


def _latest(times: object) -> time | None:
    """The time in force now from the library's ((since, time), ...) history."""
    entries = list(times)  # type: ignore[call-overload]
    return entries[-1][1] if entries else None
