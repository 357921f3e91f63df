"""What the domain and the handlers ask of shipbot's memory; bot/store/ answers it with Redis.

Every method may raise :class:`StoreUnavailable` when the memory cannot be reached; nothing is
then changed. Transitions are atomic: two callers racing on one request see one winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.models import (
    AuditEvent,
    Changelog,
    Created,
    Deployed,
    DeployRequest,
    HistoryEntry,
    Restrained,
    State,
    Workers,
)
from bot.ports.governance_store import GovernanceStore
from bot.ports.metrics import NO_MARK, Day, LastRelease, LeadRecord, Mark, Tally, WorkerFigures
from bot.ports.notify import Handover


class StoreUnavailable(Exception):
    """The store could not be reached, or cannot take writes for now (loading, read-only
    during a failover, out of memory); nothing was changed by us. Worth retrying."""


class StoreFailed(Exception):
    """The store refused what was asked for a reason retrying will not mend (a script that
    stopped on an error, a key of the wrong type): a bug, logged with its traceback."""


# What the transitions answer (see bot/machine.py for the transitions themselves). REPLAY: the
# Slack delivery was seen before, nothing changed; MISSING: no such request; CLOSED: the request
# is no longer in a state where this can happen (``state`` says which).


class ApprovalOutcome(StrEnum):
    RECORDED = "recorded"  # counted; the quorum is not reached yet
    QUEUED = "queued"  # the quorum is reached: approved and queued in its lane
    DUPLICATE = "duplicate"  # this approver had approved already
    EXPIRED = "expired"  # its approval window had passed: it expired instead
    CLOSED = "closed"
    MISSING = "missing"
    REPLAY = "replay"


@dataclass(frozen=True)
class Approval:
    outcome: ApprovalOutcome
    count: int = 0  # RECORDED: approvals so far that count for a rule
    counted: bool = True  # RECORDED: whether this one counted (False: its rules were met)
    head: str = ""  # QUEUED: the request heading the lane (to start when it is this one)
    passed: str = ""  # QUEUED: an emergency's, the request it went ahead of ("" when none)
    state: State | None = None  # CLOSED: the state it is in


class EndOutcome(StrEnum):
    ENDED = "ended"
    NOT_REQUESTER = "not_requester"  # only its requester may cancel a pending request
    CLOSED = "closed"
    MISSING = "missing"
    REPLAY = "replay"


@dataclass(frozen=True)
class Ended:
    """A rejection or cancellation. A queued request that ended left its lane."""

    outcome: EndOutcome
    start: str = ""  # the lane's new head, to start, when the ended request headed it
    behind: str = ""  # the request that was just behind it (it moved up)
    state: State | None = None  # CLOSED: the state it is in


class ClaimOutcome(StrEnum):
    RUNNING = "running"  # this worker runs it now and holds its lease
    WAITING = "waiting"  # another request heads the lane
    NOT_QUEUED = "not_queued"


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    head: str = ""  # WAITING: the request heading the lane
    state: State | None = None  # NOT_QUEUED: the state it is in (None: no such request)


class StopOutcome(StrEnum):
    STOPPING = "stopping"  # asked first: the worker is told to stop
    DUPLICATE = "duplicate"  # someone asked already
    CLOSED = "closed"  # not running
    MISSING = "missing"
    REPLAY = "replay"


@dataclass(frozen=True)
class StopAsked:
    outcome: StopOutcome
    by: str = ""  # DUPLICATE: who asked first
    state: State | None = None  # CLOSED: the state it is in


class ExpireOutcome(StrEnum):
    EXPIRED = "expired"
    NOT_PENDING = "not_pending"
    NOT_DUE = "not_due"  # its approval window is still open


@dataclass(frozen=True)
class FinishRecord:
    """How a run ended, recorded by :meth:`Store.finish` in one step."""

    request: DeployRequest  # its .steps are the final steps to save
    worker: str  # the worker that claimed it (or, for finish_orphan, the sweeping worker)
    state: State  # SUCCEEDED | FAILED
    failure: str  # "" when succeeded
    history: HistoryEntry  # the history entry to append
    mark: Mark = NO_MARK  # what it means for the delivery metrics
    voided: bool = False  # nothing was run: it no longer fits what was approved (audited so)
    audit_detail: str = ""  # the audit entry's detail: each data centre's result ("": failure)


class FinishOutcome(StrEnum):
    FINISHED = "finished"
    ALREADY = "already"  # this worker had finished it (a retry whose answer was lost)
    NOT_RUNNING = "not_running"  # someone else ended it (the sweep): nothing was written


@dataclass(frozen=True)
class Finished:
    outcome: FinishOutcome
    next: str  # the lane's head after this request left it ("" when none): to be started
    state: State | None  # the request's state now, as recorded (None: no such request)


class Store(GovernanceStore, Protocol):
    lease_seconds: int  # a running deploy's worker renews its lease within this

    # transitions of a request (atomic, audited)
    async def create(
        self,
        r: DeployRequest,
        delivery: str = "",
        jobs: Handover | None = None,
        *,
        unrestrained: bool = False,
    ) -> Created | Restrained | None: ...
    async def approve(
        self, r: DeployRequest, user: str, delivery: str = "", *, eligible: Sequence[int]
    ) -> Approval: ...
    async def end(
        self,
        r: DeployRequest,
        user: str,
        state: State,
        delivery: str = "",
        *,
        queued_too: bool = False,
        reason: str = "",
    ) -> Ended: ...
    async def expire(self, r: DeployRequest, actor: str) -> ExpireOutcome: ...
    async def request_stop(self, r: DeployRequest, user: str, delivery: str = "") -> StopAsked: ...
    async def claim(self, r: DeployRequest, worker: str, attempt: str = "") -> Claim: ...
    # finish: the claiming worker ends its run: final state and steps, out of its lane, the
    # history entry, and the release a successful rollback undid marked rolled back; at once.
    async def finish(self, record: FinishRecord) -> Finished: ...
    # the same for the sweep (record.worker) ending a run whose worker is gone, always failed
    async def finish_orphan(self, record: FinishRecord) -> Finished: ...

    # running requests: leases and stops
    async def renew_lease(self, request_id: str, worker: str) -> bool: ...
    async def orphans(self) -> list[str]: ...
    async def stopped_by(self, request_id: str) -> str: ...
    async def wait_stop(self, request_id: str) -> str: ...

    # reads and small writes of requests
    async def get(self, request_id: str) -> DeployRequest | None: ...
    async def save_steps(self, r: DeployRequest) -> None: ...
    async def set_card(self, request_id: str, channel: str, ts: str) -> None: ...
    async def set_changelog(self, request_id: str, changelog: Changelog) -> None: ...
    async def set_note(self, request_id: str, channel: str, ts: str) -> None: ...
    async def lane_of(self, r: DeployRequest) -> list[str]: ...
    async def lane(self, service: str, environment: str) -> list[str]: ...
    async def open_requests(self, service: str) -> list[DeployRequest]: ...

    # what runs where, and what ran
    async def record_deployed(self, r: DeployRequest, target: str, version: str = "") -> None: ...
    async def current(self, service: str, environment: str) -> dict[str, Deployed]: ...
    async def rolled_back(self, service: str, environment: str) -> set[str]: ...
    async def history(
        self, service: str, environment: str, limit: int = 10
    ) -> list[HistoryEntry]: ...
    async def record_external(
        self, entry: HistoryEntry, deployed: Deployed, mark: Mark
    ) -> bool: ...

    # the audit trail
    async def note(self, event: AuditEvent, delivery: str = "") -> None: ...
    async def audit_length(self) -> int: ...
    async def audit_trail(self, count: int = 100) -> list[AuditEvent]: ...
    async def chain_audit(self) -> int:
        """Hash into the chain the entries written since (workers call it continuously; the
        readers above call it first); how many it chained."""
        ...

    # workers, signals and caches
    async def ping(self) -> bool: ...
    async def heartbeat(self, worker: str, jobs: int = 0) -> None: ...
    async def workers(self) -> Workers: ...
    async def tell(self, topic: str) -> None: ...
    async def cached_group(self, group: str) -> set[str] | None: ...
    async def cached_groups(self, groups: list[str]) -> dict[str, set[str]]: ...
    async def cache_group(self, group: str, members: set[str]) -> None: ...

    # delivery metrics (the day aggregates are written by finish and record_external)
    async def metric_days(self, service: str, environment: str, days: list[str]) -> list[Day]:
        """The aggregates of ``days`` (YYYY-MM-DD, in the catalog's time zone), in order; an
        empty Day where nothing was recorded. ``ALL``, ``ALL`` reads the all-services total."""
        ...

    async def metric_weeks(self, service: str, environment: str, mondays: list[str]) -> list[Day]:
        """The same for whole weeks, each named by its Monday."""
        ...

    async def record_lead_times(
        self, service: str, environment: str, request_id: str, day: str, leads: list[float] | None
    ) -> bool:
        """The lead times (seconds) of the commits a successful production deploy shipped,
        into ``day``'s aggregate; None: its commits could not be told. Once per request: a
        second call changes nothing and answers False."""
        ...

    async def last_release(self, service: str, environment: str) -> LastRelease | None:
        """The latest successful production deploy, as the metrics recorded it."""
        ...

    async def add_metrics(self, entry: HistoryEntry, mark: Mark, *, tally: bool) -> None:
        """One run that ended, into the metrics, outside the finish step (a rebuild)."""
        ...

    async def lead_records(self, service: str, environment: str) -> dict[str, LeadRecord]:
        """The lead times recorded so far, by request id (what a rebuild replays)."""
        ...

    async def replay_lead_times(
        self, service: str, environment: str, request_id: str, day: str, leads: list[float] | None
    ) -> None:
        """A rebuild's: recorded lead times into ``day``'s aggregates again."""
        ...

    async def clear_metrics(self) -> int:
        """Every day aggregate and metrics state (not the lead records); a rebuild's start."""
        ...

    async def count_slack_error(self, method: str, error: str) -> None:
        """One Slack Web API call that failed, into the running tally."""
        ...

    async def tally(self) -> Tally:
        """The running totals Prometheus reads."""
        ...

    async def record_job(
        self, worker: str, function: str, outcome: str, seconds: float, running: int
    ) -> None:
        """A worker's job ended (``outcome`` ok|retried|failed, after ``seconds``); the worker
        now runs ``running`` jobs. In one round trip."""
        ...

    async def worker_figures(self) -> WorkerFigures:
        """The workers' own figures Prometheus reads (jobs running, durations, renewals)."""
        ...

    async def claim_once(self, name: str, ttl_seconds: int) -> bool:
        """True for the first caller of ``name`` (within ``ttl_seconds``), False for the rest:
        so one worker of many posts a scheduled digest."""
        ...

    async def release_once(self, name: str) -> None:
        """Give ``name`` up (what it was claimed for failed): the next caller may claim it."""
        ...
