"""Freezes in words, for refusals, cards and listings: local times in the catalog's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.catalog.governance import Freeze
from bot.domain.freezes.exchange import known_until
from bot.domain.freezes.spans import Frozen, Source
from bot.domain.policy import mention


def local(at: float, zone: str) -> str:
    """``Mon 2026-03-02 11:45`` in ``zone``."""
    return datetime.fromtimestamp(at, ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


def named(frozen: Frozen) -> str:
    """What the freeze is: ``XSHG trading hours``, a window's reason, a chat freeze's reason
    and who froze it."""
    if frozen.source is Source.CHAT:
        return f"{frozen.reason} (frozen by {mention(frozen.who)})"
    return frozen.reason


def until(frozen: Frozen, zone: str) -> str:
    """``XSHG trading hours until Mon 2026-03-02 11:45 (Asia/Shanghai)``."""
    return f"{named(frozen)} until {local(frozen.until, zone)} ({zone})"


def unknown_range(frozen: Frozen, freeze: Freeze | None) -> str:
    """Said when the freeze is assumed: the calendar is not known that far."""
    if not frozen.beyond_known or freeze is None or freeze.calendar is None:
        return ""
    return (
        f"The {freeze.calendar} calendar is known only until {known_until(freeze)}, so shipbot "
        "counts every weekday's session hours as trading after that (catalog: `freeze.holidays`, "
        "`freeze.known_until`)."
    )


def described(frozen: Frozen, freeze: Freeze | None, zone: str) -> str:
    """The freeze, until when, and whether the calendar is known that far."""
    beyond = unknown_range(frozen, freeze)
    return until(frozen, zone) + (f". {beyond}" if beyond else "")
