"""What the store keeps for delivery metrics, as values: the aggregates of one day (what a
/metrics summary reads) and the running tallies Prometheus scrapes. bot/store/metrics.py keeps
them in Redis, updated in the same atomic step that records a deploy's end."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL = "_all"  # the service and environment names of the all-services aggregate


@dataclass(frozen=True)
class Day:
    """One calendar day of one production environment of one service (or of all, ALL),
    as kept in Redis. Counts are of production deploys that ended that day; ``undone`` and
    ``hotfixed`` are counted on the day of the deploy they mark; ``recovery`` and ``lead``
    are bucket counts (see bot/domain/metrics/buckets.py), on the day of the deploy that
    recovered or shipped them."""

    ended: int = 0  # deploys that ended (a deploy that never touched a target is not counted)
    succeeded: int = 0
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
