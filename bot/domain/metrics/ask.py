"""What `/metrics [service] [period]` asks for: a scope (one service, or all) and a period.

A word that looks like a period (``7d``, ``quarter``, ``2026-10-01..2026-12-01``) is the period;
any other word must be one of the catalog's services. Bad input is a UsageError that says what
to fix, and nothing is asked of a worker.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from bot.domain.grammar import METRICS_LINE, UsageError, metrics_usage, validate_name
from bot.domain.metrics.period import DEFAULT, PERIOD_HINT, Period, looks_like_period, parse_period


@dataclass(frozen=True)
class MetricsAsk:
    service: str | None  # None: all services
    period: Period

    @property
    def scope(self) -> str:
        return self.service or "all services"


def parse_metrics(text: str, services: Collection[str], today: date) -> MetricsAsk:
    """``text`` as a scope and a period ending ``today``; UsageError when it is not one."""
    words = text.split()
    if words == ["help"] and "help" not in services:
        raise UsageError(metrics_usage())
    if len(words) > 2:
        raise UsageError(f"/metrics takes at most a service and a period.\nUsage: {METRICS_LINE}")
    periods = [w for w in words if looks_like_period(w)]
    names = [w for w in words if not looks_like_period(w)]
    if len(periods) > 1:
        raise UsageError(f"Give one period, not two.\nUsage: {METRICS_LINE}")
    if len(names) > 1:
        raise UsageError(f"Give one service, not two.\nUsage: {METRICS_LINE}")
    service = _service(names[0], services) if names else None
    return MetricsAsk(service, parse_period(periods[0] if periods else DEFAULT, today))


def _service(word: str, services: Collection[str]) -> str:
    if word in services:
        return word
    name = validate_name("service", word)
    known = ", ".join(f"`{s}`" for s in sorted(services))
    raise UsageError(
        f"Unknown service `{name}`, and not a period ({PERIOD_HINT}). "
        f"The services are {known}.\nUsage: {METRICS_LINE}"
    )
