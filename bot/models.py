"""The records shipbot keeps: deploy requests, history entries, progress and audit events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field


class State(StrEnum):
    """Where a deploy request is in its life.

    pending -> approved -> queued -> running -> succeeded | failed | rolled_back
    pending -> rejected | cancelled | expired
    """

    PENDING = "pending"
    APPROVED = "approved"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Action(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"


class StepStatus(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    ROLLING_BACK = "rolling_back"  # being returned to what ran before
    ROLLED_BACK = "rolled_back"  # deployed, then returned to what ran before


class Step(BaseModel):
    """Progress of one data centre (or the single target when none are listed)."""

    target: str
    status: StepStatus = StepStatus.WAITING
    detail: str = ""  # the latest progress line of the tool
    link: str = ""  # where the deployer's run can be watched (a pipeline, an Application)
    failure: str = ""  # why this target failed: the first failure, never overwritten
    undo: str = ""  # what returning it to the version before did ("back on v1", ...)
    started_at: float = 0.0  # when it started running (epoch seconds; 0: never)
    finished_at: float = 0.0  # when it last ended (deployed, failed, rolled back, skipped)

    @property
    def duration(self) -> float:
        if not self.started_at or not self.finished_at:
            return 0.0
        return max(self.finished_at - self.started_at, 0.0)


class ChangeLine(BaseModel):
    """One line of a changelog: a merge request or a commit."""

    ref: str  # "!12" for a merge request, the short sha for a commit
    title: str
    url: str = ""
    author: str = ""  # a merge request's author's username; a commit's author's name
    merge_request: bool = False


class Changelog(BaseModel):
    """What a release brought (or, for a rollback, took out), as its release note shows it;
    ``missing`` says in a few words why it could not be told."""

    older: str = ""  # the version before ("" : none, a first release)
    newer: str = ""
    lines: list[ChangeLine] = Field(default_factory=list)  # at most about 20
    merge_requests: int = 0  # in all, shown or not
    commits: int = 0
    compare_url: str = ""
    missing: str = ""  # "no source in the catalog", "GitLab unreachable", "tag v9 not found"
    taken_out: bool = False  # a rollback: these changes leave

    @property
    def more(self) -> int:
        """Changes not shown."""
        return max(self.merge_requests + self.commits - len(self.lines), 0)


class Rule(BaseModel):
    """One approval rule a request must meet: ``approvals`` distinct people from ``approvers``
    (user and user-group IDs). ``kind``: "approvers" (the environment's own ``approvals``),
    "rule" (one of its ``approval_rules``) or "emergency" (break-glass). ``name``: what the
    card calls it ("" for its kind, numbered)."""

    approvals: int
    approvers: list[str]
    kind: str = "approvers"
    name: str = ""


class DeployRequest(BaseModel):
    """One request, bound to exactly what was asked and the catalog it was checked against."""

    id: str
    action: Action = Action.DEPLOY
    service: str
    environment: str
    version: str
    requester: str
    reason: str = ""
    hotfix: bool = False  # unplanned: mends what an earlier release broke (/deploy --hotfix)
    emergency: str = ""  # break-glass (--emergency): why it may break a freeze ("" : not one)
    commit_sha: str = ""  # the commit its version's tag named when it was asked for
    commit_note: str = ""  # why the commit could not be told ("" when told, or no source)
    reject_reason: str = ""  # why its rejecter rejected it
    commit_url: str = ""  # the commit_sha's page on GitLab ("" when not known)
    channel: str
    catalog_revision: str
    approvals_needed: int = 0
    state: State = State.PENDING
    created_at: float = Field(default_factory=time.time)
    expires_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    approvers: list[str] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)  # what must approve ([]: approvals_needed)
    assigned: dict[str, int] = Field(default_factory=dict)  # approver -> the rule they met
    rejected_by: str = ""
    cancelled_by: str = ""
    steps: list[Step] = Field(default_factory=list)
    failure: str = ""
    card_channel: str = ""
    card_ts: str = ""
    queued_behind: str = ""
    undoes: str = ""  # a rollback: the request whose release it undoes
    undoes_version: str = ""  # what the undone request had deployed
    ran_before: str = ""  # a rollback: what ran where when it was asked for ("dc-a=v2 dc-b=v2")
    stop_requested_by: str = ""  # who pressed Stop while it ran
    changelog: Changelog | None = None  # set as it starts running: it has a release note
    note_channel: str = ""  # the release note in the releases channel
    note_ts: str = ""
    waiting: str = ""  # queued but held: the freeze it waits for, and until when

    @property
    def targets(self) -> list[str]:
        return [step.target for step in self.steps]

    @property
    def not_run(self) -> bool:
        """Ended without any target being touched (its catalog entry changed, a rollback was
        superseded, its worker died before starting)."""
        skipped = all(step.status is StepStatus.SKIPPED for step in self.steps)
        return self.state is State.FAILED and bool(self.steps) and skipped

    @property
    def summary(self) -> str:
        """What was asked, in words: ``deploy web-h5 v2.3.1 to prod``."""
        if self.action is Action.ROLLBACK:
            return f"rollback of {self.service} in {self.environment} to {self.version}"
        return f"deploy {self.service} {self.version} to {self.environment}"

    @property
    def duration(self) -> float:
        if not self.started_at or not self.finished_at:
            return 0.0
        return self.finished_at - self.started_at


class HistoryEntry(BaseModel):
    """One finished deploy of a service to an environment."""

    request_id: str
    action: Action
    service: str
    environment: str
    version: str
    state: State
    requester: str
    approvers: list[str]
    targets: dict[str, str] = Field(default_factory=dict)  # target -> step status
    started_at: float
    finished_at: float
    failure: str = ""
    source: str = ""  # "" when shipbot ran it; "gitlab" for a deployment GitLab ran alone
    undoes_version: str = ""  # a rollback: the version it rolled back from
    undoes: str = ""  # a rollback: the request whose release it undid
    hotfix: bool = False  # a deploy marked unplanned (/deploy --hotfix)
    created_at: float = 0.0  # when it was asked for (0: not known, e.g. run outside shipbot)
    emergency: str = ""  # break-glass: why it broke a freeze
    rejected_by: str = ""  # a rejected request (kept apart from runs): who rejected it
    reject_reason: str = ""  # and why

    @property
    def not_run(self) -> bool:
        """Ended without any target being touched."""
        skipped = all(status == StepStatus.SKIPPED for status in self.targets.values())
        return self.state is State.FAILED and bool(self.targets) and skipped


class Deployed(BaseModel):
    """What runs in one data centre of an environment, and who put it there."""

    version: str
    request_id: str
    requester: str
    at: float


@dataclass(frozen=True)
class Workers:
    """Which workers are alive, from their heartbeats in Redis."""

    alive: int  # workers seen within WORKER_GONE_AFTER seconds
    last_seen: float | None  # when the newest heartbeat came (epoch seconds); None: never


UNASKED = Workers(alive=1, last_seen=None)  # where liveness does not matter: assume a worker


@dataclass(frozen=True)
class Created:
    """What recording a new request did."""

    state: State  # pending, or queued when no approval is needed
    head: str  # the request at the head of its lane when queued ("" when pending)
    ahead: str  # the request just ahead of it in its lane ("" when none)
    workers: Workers
    handed_over: bool = False  # its job was written with it (see bot.ports.notify.Handover)


@dataclass(frozen=True)
class Restrained:
    """create's answer when asked to record only an unrestrained request and its environment
    has a lock or a chat freeze: nothing was written; the caller judges them and asks again."""


RESTRAINED = Restrained()


class AuditEvent(BaseModel):
    """One line of the append-only audit stream."""

    at: float = Field(default_factory=time.time)
    actor: str
    event: str
    request_id: str = ""
    service: str = ""
    environment: str = ""
    detail: str = ""
