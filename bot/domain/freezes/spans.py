"""Frozen time as intervals: what each source of freezes yields, and how they join up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Source(StrEnum):
    CALENDAR = "calendar"  # an exchange's trading sessions (with the margin)
    WINDOW = "window"  # a planned window of the catalog
    CHAT = "chat"  # a one-off `/shipbot freeze`


@dataclass(frozen=True)
class Span:
    """Frozen from ``start`` to ``end`` (epoch seconds, end excluded), for ``reason``."""

    start: float
    end: float
    reason: str  # "XSHG trading hours", a window's reason, a chat freeze's reason
    source: Source
    beyond_known: bool = False  # assumed: past the range the calendar is known for
    who: str = ""  # a chat freeze: who froze it

    def covers(self, at: float) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Frozen:
    """A freeze in force (or the next one): what it is and until when no deploy may start."""

    reason: str
    since: float
    until: float  # when the environment is open again (freezes that follow on included)
    source: Source
    beyond_known: bool = False
    who: str = ""


def frozen_from(spans: Sequence[Span], at: float) -> Frozen | None:
    """The freeze in force at ``at`` (the one lasting longest), until the end of the frozen
    run it belongs to; None when nothing covers ``at``."""
    covering = [s for s in spans if s.covers(at)]
    if not covering:
        return None
    main = max(covering, key=lambda s: (s.end, s.source is Source.CHAT))
    return _frozen(main, run_end(spans, at))


def upcoming(spans: Iterable[Span], at: float, limit: int) -> list[Frozen]:
    """The freezes starting after ``at``, soonest first, each until its own end."""
    later = sorted((s for s in spans if s.start > at), key=lambda s: (s.start, s.end))
    return [_frozen(s, s.end) for s in later[:limit]]


def run_end(spans: Sequence[Span], at: float) -> float:
    """The end of the frozen run containing ``at``: spans that touch or overlap chain on."""
    end = at
    for span in sorted(spans, key=lambda s: s.start):
        if span.start <= end and span.end > end:
            end = span.end
    return end


def _frozen(span: Span, until: float) -> Frozen:
    return Frozen(span.reason, span.start, until, span.source, span.beyond_known, span.who)
