"""Day aggregates added up over a period (or a week): the counts every figure is read from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from bot.domain.metrics.buckets import merged
from bot.ports.metrics import Day

EMPTY = Day()


@dataclass(frozen=True)
class Total:
    days: int  # the period's calendar days (with a deploy or not)
    ended: int = 0
    succeeded: int = 0
    failed: int = 0
    rolled_back: int = 0
    change_failed: int = 0
    hotfix: int = 0
    deploy_days: int = 0  # days with at least one successful deploy
    recovery: dict[int, int] = field(default_factory=dict)
    lead: dict[int, int] = field(default_factory=dict)
    lead_sum: float = 0.0

    @property
    def commits(self) -> int:
        """Commits whose lead time is known."""
        return sum(self.lead.values())


def total(parts: Sequence[Day], days: int) -> Total:
    """``parts`` (days and whole weeks) of a period ``days`` long, added up."""
    busy = [d for d in parts if d != EMPTY]  # most days of most services hold nothing
    return Total(
        days=days,
        ended=sum(d.ended for d in busy),
        succeeded=sum(d.succeeded for d in busy),
        failed=sum(d.failed for d in busy),
        rolled_back=sum(d.rolled_back for d in busy),
        change_failed=sum(d.change_failed for d in busy),
        hotfix=sum(d.hotfix for d in busy),
        deploy_days=sum(d.deploy_days for d in busy),
        recovery=merged(d.recovery for d in busy),
        lead=merged(d.lead for d in busy),
        lead_sum=sum(d.lead_sum for d in busy),
    )


def added(days_by_place: Sequence[Sequence[Day]]) -> list[Day]:
    """Several places' days (same calendar days, in the same order) as one list of days."""
    if not days_by_place:
        return []
    if len(days_by_place) == 1:
        return list(days_by_place[0])
    return [_add(same) for same in zip(*days_by_place, strict=True)]


def _add(days: Sequence[Day]) -> Day:
    """Field by field: counts and sums added, bucket counts merged."""
    added_up: dict[str, Any] = {
        f.name: merged(getattr(d, f.name) for d in days)
        if isinstance(getattr(EMPTY, f.name), dict)
        else sum(getattr(d, f.name) for d in days)
        for f in fields(Day)
    }
    return Day(**added_up)
