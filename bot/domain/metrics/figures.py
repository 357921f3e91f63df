"""The figures of a /metrics card, read from the day aggregates, never from every deploy.

Definitions (the README's "Delivery metrics" section says the same), over the production
environments of the services in scope, for deploys that ended in the period:

- deployment frequency: successful deploys per day and per week; days with one per week;
- change lead time: the median time from a commit to the successful deploy that shipped it;
- change fail rate: deploys that failed, were rolled back (automatically or by a later
  /rollback) or were followed by a hotfix, over deploys that ended;
- failed deployment recovery time: the median time from such a failure to the next successful
  deploy or rollback of that service and environment (counted on the day of recovery);
- deployment rework rate: deploys marked ``--hotfix`` over deploys that ended;
- the team's own: releases per month (successful deploys per 30 days), the success rate, the
  average delivery cycle (the mean lead time), merges per day into the default branch, and its
  pipelines' test pass rate and coverage (from GitLab, where a service names its source).

A rollback is never a deploy here. A figure with no number says why, in a word or two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.metrics import levels
from bot.domain.metrics.buckets import median, merged
from bot.domain.metrics.period import Period
from bot.domain.metrics.reading import Parts, read
from bot.domain.metrics.summary import Figure, ServiceLine, Summary, Unit, Value, WeekBar
from bot.domain.metrics.totals import Total, total
from bot.domain.services import Services
from bot.ports.metrics import ALL, Day
from bot.ports.source import BranchFigures, SourceUnavailable

NO_DEPLOYS, NO_SOURCE = "no deploys", "no source"
BRANCH_SECONDS = 90.0  # GitLab's figures of one card are given up after this
ALL_SERVICES = "all services"


@dataclass(frozen=True)
class Branch:
    """What the default branches of the services in scope saw, or why it is not known."""

    figures: BranchFigures | None
    missing: str = ""  # "no source", "GitLab unreachable"


@dataclass(frozen=True)
class Basis:
    """What one period's figures are read from."""

    total: Total
    branch: Branch
    has_source: bool


def _rate(t: Total, per: float, count: Callable[[Total], int]) -> Value:
    return Value(count(t) / t.days * per) if t.ended else Value(None, NO_DEPLOYS)


def _share(t: Total, count: Callable[[Total], int]) -> Value:
    return Value(count(t) / t.ended) if t.ended else Value(None, NO_DEPLOYS)


def _lead_missing(b: Basis) -> str:
    if not b.total.succeeded:
        return NO_DEPLOYS
    return "commits unknown" if b.has_source else NO_SOURCE


def lead_time(b: Basis) -> Value:
    found = median(b.total.lead)
    return Value(found) if found is not None else Value(None, _lead_missing(b))


def delivery_cycle(b: Basis) -> Value:
    n = b.total.commits
    return Value(b.total.lead_sum / n) if n else Value(None, _lead_missing(b))


def recovery_time(b: Basis) -> Value:
    found = median(b.total.recovery)
    if found is not None:
        return Value(found)
    return Value(None, "no failures" if not b.total.change_failed else "not recovered")


def _branch(pick: Callable[[BranchFigures], float | None], word: str) -> Callable[[Basis], Value]:
    def value(b: Basis) -> Value:
        if b.branch.figures is None:
            return Value(None, b.branch.missing)
        found = pick(b.branch.figures)
        return Value(found) if found is not None else Value(None, word)

    return value


@dataclass(frozen=True)
class Definition:
    key: str
    label: str
    unit: Unit
    value: Callable[[Basis], Value]
    higher_is_better: bool
    level: Callable[[float], levels.Level] | None = None
    dora: bool = False


FIGURES = (
    Definition("deploys_per_day", "Deployment frequency", Unit.PER_DAY,
               lambda b: _rate(b.total, 1, lambda t: t.succeeded), True,
               levels.frequency_level, dora=True),
    Definition("deploys_per_week", "Deploys per week", Unit.PER_WEEK,
               lambda b: _rate(b.total, 7, lambda t: t.succeeded), True, dora=True),
    Definition("deploy_days_per_week", "Deploy days per week", Unit.PER_WEEK,
               lambda b: _rate(b.total, 7, lambda t: t.deploy_days), True, dora=True),
    Definition("lead_time", "Change lead time (median)", Unit.SECONDS, lead_time, False,
               levels.lead_time_level, dora=True),
    Definition("change_fail_rate", "Change fail rate", Unit.SHARE,
               lambda b: _share(b.total, lambda t: t.change_failed), False,
               levels.fail_rate_level, dora=True),
    Definition("recovery_time", "Failed deployment recovery time (median)", Unit.SECONDS,
               recovery_time, False, levels.recovery_level, dora=True),
    Definition("rework_rate", "Deployment rework rate", Unit.SHARE,
               lambda b: _share(b.total, lambda t: t.hotfix), False, dora=True),
    Definition("releases_per_month", "Releases per month", Unit.PER_MONTH,
               lambda b: _rate(b.total, 30, lambda t: t.succeeded), True),
    Definition("success_rate", "Production deploy success rate", Unit.SHARE,
               lambda b: _share(b.total, lambda t: t.succeeded), True),
    Definition("delivery_cycle", "Average delivery cycle (mean lead time)", Unit.SECONDS,
               delivery_cycle, False),
    Definition("daily_merges", "Merges to the default branch per day", Unit.PER_DAY,
               lambda b: _merges(b), True),
    Definition("test_pass_rate", "Pipeline test pass rate", Unit.SHARE,
               _branch(lambda f: f.test_pass_rate, "no test reports"), True),
    Definition("coverage", "Test coverage", Unit.PERCENT,
               _branch(lambda f: f.coverage, "no coverage"), True),
)  # fmt: skip


def _merges(b: Basis) -> Value:
    if b.branch.figures is None:
        return Value(None, b.branch.missing)
    return Value(b.branch.figures.merges / b.total.days)


def figures(now: Basis, before: Basis) -> tuple[Figure, ...]:
    return tuple(_figure(d, d.value(now), d.value(before)) for d in FIGURES)


def _figure(d: Definition, now: Value, before: Value) -> Figure:
    level = d.level(now.number) if d.level is not None and now.number is not None else None
    return Figure(d.key, d.label, d.unit, now, before, d.higher_is_better, d.dora, level)


def weeks(parts: Parts) -> tuple[WeekBar, ...]:
    """The period's parts by week (Monday first), for the chart."""
    by_week: dict[date, list[Day]] = {}
    for monday, found in zip(parts.starts, parts.days, strict=True):
        by_week.setdefault(monday, []).append(found)
    return tuple(
        WeekBar(
            start=monday,
            succeeded=sum(d.succeeded for d in week),
            failed=sum(d.failed for d in week),
            rolled_back=sum(d.rolled_back for d in week),
            lead_median=median(merged(d.lead for d in week)),
        )
        for monday, week in sorted(by_week.items())
    )


async def summarize(services: Services, service: str | None, period: Period) -> Summary:
    """The card's figures for ``service`` (None: all services) over ``period``."""
    catalog, previous = services.catalog, period.previous()
    names = [service] if service else list(catalog.services)
    places = [(s, e) for s in names for e in catalog.services[s].production()]
    read_from = places if service else [(ALL, ALL)]
    now_parts = await read(services.store, read_from, period)
    before_parts = await read(services.store, read_from, previous)
    projects = [catalog.services[s].source for s in names]
    sources = sorted({p.gitlab_project for p in projects if p is not None})
    branch_now, branch_before = await asyncio.gather(
        _branch_figures(services, sources, period, catalog.timezone),
        _branch_figures(services, sources, previous, catalog.timezone),
    )
    now = Basis(total(now_parts.days, period.days), branch_now, bool(sources))
    before = Basis(total(before_parts.days, previous.days), branch_before, bool(sources))
    lines = () if service else await _lines(services, names, period)
    missing = {b.missing for b in (branch_now, branch_before) if b.missing} - {NO_SOURCE}
    return Summary(
        scope=service or ALL_SERVICES,
        period=period,
        previous=previous,
        figures=figures(now, before),
        weeks=weeks(now_parts),
        services=lines,
        environments=tuple(f"{s}/{e}" for s, e in places),
        notes=tuple(f"GitLab: {note}" for note in sorted(missing)),
    )


async def _lines(services: Services, names: list[str], period: Period) -> tuple[ServiceLine, ...]:
    lines = []
    for name in names:
        source = services.catalog.services[name].source is not None
        envs = services.catalog.services[name].production()
        parts = await read(services.store, [(name, e) for e in envs], period)
        t = total(parts.days, period.days)
        basis = Basis(t, Branch(None, NO_SOURCE), source)
        rate = _share(t, lambda t: t.change_failed)
        lines.append(ServiceLine(name, t.ended, rate, lead_time(basis)))
    return tuple(lines)


async def _branch_figures(
    services: Services, projects: list[str], period: Period, zone: str
) -> Branch:
    if not projects:
        return Branch(None, NO_SOURCE)
    if services.source is None:
        return Branch(None, "GitLab not configured")
    since, until = _instant(period.first, zone), _instant(period.last + timedelta(days=1), zone)
    source = services.source
    try:
        async with asyncio.timeout(BRANCH_SECONDS):
            asked = (source.branch_figures(p, since, until) for p in projects)
            found = await asyncio.gather(*asked)
    except TimeoutError:
        return Branch(None, "GitLab too slow")
    except SourceUnavailable as error:
        return Branch(None, str(error) or "GitLab unreachable")
    return Branch(_combined(found))


def _combined(found: Sequence[BranchFigures]) -> BranchFigures:
    """Several projects' figures as one: merges added, rates weighted by pipelines."""
    pipelines = sum(f.pipelines for f in found)

    def weighted(pick: Callable[[BranchFigures], float | None]) -> float | None:
        known = [(pick(f), f.pipelines) for f in found if pick(f) is not None]
        weight = sum(w for _, w in known)
        if not known or not weight:
            return None
        return sum((v or 0.0) * w for v, w in known) / weight

    return BranchFigures(
        merges=sum(f.merges for f in found),
        test_pass_rate=weighted(lambda f: f.test_pass_rate),
        coverage=weighted(lambda f: f.coverage),
        pipelines=pipelines,
    )


def _instant(day: date, zone: str) -> float:
    return datetime.combine(day, time(), ZoneInfo(zone)).timestamp()
