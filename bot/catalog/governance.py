"""The catalog's governance keys: who may ask, approval rules, break-glass, change freezes, audit.

Validated here; what they mean at run time lives in the domain (bot.domain.policy for who may,
bot.domain.freezes for when production must not change, bot.domain.audit for the trail).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.catalog.common import ApproverId, CronLine, TimeZone

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
DURATION_HINT = "a duration like 30m, 4h, 62h, 2d or 1h30m"
LOCAL_TIME_HINT = 'a local time "YYYY-MM-DD HH:MM"'


def duration_seconds(text: str) -> int | None:
    """``62h`` -> 223200; ``1h30m`` -> 5400; None when ``text`` is no duration (or zero)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    seconds = ((days * 24 + hours) * 60 + minutes) * 60
    return seconds or None


def _duration(text: str) -> str:
    if duration_seconds(text) is None:
        raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
    return text


def _local_time(text: str) -> str:
    try:
        datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValueError(f"invalid time {text!r}: {LOCAL_TIME_HINT}") from None
    return text


Duration = Annotated[str, AfterValidator(_duration)]
LocalTime = Annotated[str, AfterValidator(_local_time)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ApprovalRule(_Model):
    """``approvals`` distinct people from ``approvers`` (user and user-group IDs); ``name``
    (optional) is what the card calls it, e.g. "Change management" (unset: "Rule 2")."""

    name: str | None = Field(default=None, min_length=1, max_length=40)
    approvals: int = Field(ge=1, strict=True)
    approvers: list[ApproverId] = Field(min_length=1)


class Emergency(_Model):
    """Break-glass (``--emergency``): how many approvals in all, at least one from
    ``approvers``. Unset: one more than usual; the environment's approvers."""

    approvals: int | None = Field(default=None, ge=1, strict=True)
    approvers: list[ApproverId] | None = None


class FreezeWindow(_Model):
    """A planned freeze: every ``cron`` instant for ``duration``, or once ``from`` ``to``;
    local times in ``timezone`` (unset: the catalog's ``timezone``)."""

    cron: CronLine | None = None
    duration: Duration | None = None
    start: LocalTime | None = Field(default=None, alias="from")
    end: LocalTime | None = Field(default=None, alias="to")
    timezone: TimeZone | None = None
    reason: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_form(self) -> FreezeWindow:
        repeating, dated = self.cron is not None, self.start is not None or self.end is not None
        if repeating == dated:
            raise ValueError("a window is either {cron, duration} or {from, to}")
        if repeating and self.duration is None:
            raise ValueError("a cron window needs a duration")
        if dated and (self.start is None or self.end is None):
            raise ValueError("a dated window needs both from and to")
        if dated and str(self.end) <= str(self.start):
            raise ValueError(f"to ({self.end}) must be after from ({self.start})")
        if dated and self.duration is not None:
            raise ValueError("a dated window takes no duration")
        return self


class Freeze(_Model):
    """When the environment must not change: an exchange's trading sessions (from
    exchange-calendars), with a margin around each, and planned windows."""

    calendar: str | None = None  # an exchange-calendars name, e.g. XSHG
    margin_minutes: int = Field(default=0, ge=0, le=240, strict=True)
    holidays: list[date] = Field(default_factory=list)  # closed days the library lacks
    known_until: date | None = None  # unset: the last day of the library's table
    beyond_known: Literal["frozen", "open"] = "frozen"
    windows: list[FreezeWindow] = Field(default_factory=list)

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, name: str | None) -> str | None:
        known = calendar_names()
        if name is not None and name not in known:
            near = sorted(n for n in known if n.upper().startswith(name.upper()[:2]))
            hint = ", ".join(near[:6]) if near else "XSHG, XNYS"
            raise ValueError(f"unknown exchange calendar {name!r} (e.g. {hint})")
        return name


def calendar_names() -> list[str]:
    """The exchange calendars the library knows (imported only when a catalog names one)."""
    import exchange_calendars

    return list(exchange_calendars.get_calendar_names(include_aliases=False))


class AuditSettings(_Model):
    retention_days: int = Field(default=400, ge=1, strict=True)
