"""What the store keeps for delivery metrics, as values: the aggregates of one day (what a
/metrics summary reads) and the running tallies Prometheus scrapes. bot/store/metrics.py keeps
them in Redis, updated in the same atomic step that records a deploy's end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

ALL = "_all"  # the service and environment names of the all-services aggregate
PER_DOUBLING = 8  # duration buckets per doubling (see bot/domain/metrics/buckets.py)
BUCKETS = 200  # 2**(200/8) seconds is about a year: longer ones go in the last bucket

# Prometheus histogram bounds (seconds), kept as counts per bound in Redis.
DURATION_BOUNDS = (30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
WAIT_BOUNDS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 28800.0, 86400.0, 259200.0)
LEAD_BOUNDS = (3600.0, 14400.0, 86400.0, 259200.0, 604800.0, 1209600.0, 2592000.0, 7776000.0)


@dataclass(frozen=True)
class Mark:
    """What a run's end means for the metrics, worked out before the end is recorded."""

    production: bool  # the environment counts in delivery metrics
    day: str  # the day it ended, in the catalog's time zone
    marks: str = ""  # an earlier deploy it shows failed: the one a rollback undid or a hotfix mends
    marks_day: str = ""  # the day that deploy ended
    marks_at: float = 0.0  # when it ended: the failure it reveals started then
    why: str = ""  # "undone" | "hotfixed"


NO_MARK = Mark(production=False, day="")


@dataclass(frozen=True)
class LeadRecord:
    """The lead times recorded for one deploy (None: its commits could not be told)."""

    day: str
    leads: list[float] | None


@dataclass(frozen=True)
class LastRelease:
    """The latest successful production deploy of a service and environment."""

    request_id: str
    day: str
    at: float
    version: str


def monday_of(day: str) -> str:
    """The Monday (YYYY-MM-DD) of the week holding ``day``: whose week aggregate it is in."""
    found = date.fromisoformat(day)
    return (found - timedelta(days=found.weekday())).isoformat()


@dataclass(frozen=True)
class Day:
    """One calendar day (or week) of one production environment of one service (or of all, ALL),
    as kept in Redis. Counts are of production deploys that ended that day; ``undone`` and
    ``hotfixed`` are counted on the day of the deploy they mark; ``recovery`` and ``lead``
    are bucket counts (see bot/domain/metrics/buckets.py), on the day of the deploy that
    recovered or shipped them."""

    ended: int = 0  # deploys that ended (a deploy that never touched a target is not counted)
    succeeded: int = 0
    deploy_days: int = 0  # days with a successful deploy (0 or 1 for a day; up to 7 a week)
    failed: int = 0  # ended failed (its rollback, if any, failed or was not asked for)
    rolled_back: int = 0  # failed and rolled back automatically
    undone: int = 0  # later undone by /rollback
    hotfixed: int = 0  # followed by a hotfix
    change_failed: int = 0  # any of the four above, each deploy once
    hotfix: int = 0  # deploys marked --hotfix (unplanned)
    rollbacks: int = 0  # /rollback runs that ended
    outside: int = 0  # deploys made outside shipbot (GitLab), within ``succeeded``
    recovery: dict[int, int] = field(default_factory=dict)  # bucket -> failures recovered
    recovery_sum: float = 0.0
    lead: dict[int, int] = field(default_factory=dict)  # bucket -> commits shipped
    lead_sum: float = 0.0
    lead_deploys: int = 0  # successful deploys whose commits are known
    lead_unknown: int = 0  # successful deploys whose commits could not be told (no source, ...)


@dataclass(frozen=True)
class Histogram:
    """A Prometheus histogram as kept: ``counts[i]`` observations at most ``bounds[i]`` and
    above the bound before it; the last count is above every bound (+Inf)."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]  # len(bounds) + 1, not cumulative
    total: float  # the sum of the observations


@dataclass(frozen=True)
class Tally:
    """Running totals since the store began, the same whichever replica reads them."""

    deploys: dict[tuple[str, str, str, str], int]  # (service, environment, action, outcome)
    deploy_duration: dict[tuple[str, str], Histogram]  # (service, environment)
    approval_wait: dict[tuple[str, str], Histogram]
    lead_time: dict[tuple[str, str], Histogram]
    queue_depth: int  # requests queued, waiting for their lane
    workers_alive: int
    slack_errors: dict[tuple[str, str], int] = field(default_factory=dict)  # (method, error)


# A worker job's duration (seconds): an announce takes a second, a deploy minutes to hours.
JOB_BOUNDS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 10800.0)


@dataclass(frozen=True)
class WorkerFigures:
    """The workers' own figures, every worker's, kept in Redis: the same whichever replica
    reads them."""

    jobs_running: int  # jobs the live workers said they were running, at their last word
    job_duration: dict[tuple[str, str], Histogram]  # (job function, outcome: ok|retried|failed)
    lease_renewals: dict[str, int]  # outcome (renewed|lost|redis_unavailable) -> count


NO_FIGURES = WorkerFigures(jobs_running=0, job_duration={}, lease_renewals={})
