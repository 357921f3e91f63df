"""When an environment is frozen: the pure core. The catalog's freeze (exchange sessions and
planned windows) and the chat's freezes, given to it, at a moment; nothing here reads Redis.

Computed on intervals (a few per day), never minute by minute.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.catalog.governance import Freeze
from bot.domain.freezes.exchange import calendar_spans
from bot.domain.freezes.spans import Frozen, Source, Span, frozen_from, upcoming
from bot.domain.freezes.windows import window_spans
from bot.ports.freezes import ChatFreeze

DAY = 86400.0
LOOK_AHEAD = 14 * DAY  # how far a frozen run is followed at first; further when it lasts
LONGEST = 400 * DAY  # a run is followed no further than this


def spans(
    freeze: Freeze | None, zone: str, start: float, end: float, chat: Sequence[ChatFreeze] = ()
) -> list[Span]:
    """Every frozen span meeting [start, end): calendar, windows and chat freezes."""
    found = [_chat_span(c) for c in chat if c.until > start and c.since < end]
    if freeze is not None:
        found += calendar_spans(freeze, start, end) + window_spans(freeze, zone, start, end)
    return found


def frozen_at(
    freeze: Freeze | None, zone: str, at: float, chat: Sequence[ChatFreeze] = ()
) -> Frozen | None:
    """The freeze in force at ``at`` and until when the environment stays frozen; None when
    it is open. ``zone`` is the catalog's time zone (windows without their own)."""
    horizon = LOOK_AHEAD
    while True:
        found = spans(freeze, zone, at - DAY, at + horizon, chat)
        frozen = frozen_from(found, at)
        if frozen is None or frozen.until < at + horizon or horizon >= LONGEST:
            return frozen
        horizon *= 4


def next_freezes(
    freeze: Freeze | None,
    zone: str,
    at: float,
    chat: Sequence[ChatFreeze] = (),
    days: int = 7,
    limit: int = 6,
) -> list[Frozen]:
    """The freeze in force at ``at`` (if any), then the next ones within ``days``."""
    now = frozen_at(freeze, zone, at, chat)
    later = upcoming(spans(freeze, zone, at, at + days * DAY, chat), at, limit)
    if now is not None:
        later = [f for f in later if f.since >= now.until]
    return ([now] if now else []) + later


def _chat_span(chat: ChatFreeze) -> Span:
    return Span(chat.since, chat.until, chat.reason, Source.CHAT, who=chat.by)
