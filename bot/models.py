"""The records shipbot keeps: deploy requests, history entries, progress and audit events."""

from __future__ import annotations

import time
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
    ROLLED_BACK = "rolled_back"  # deployed, then returned to what ran before


class Step(BaseModel):
    """Progress of one data centre (or the single target when none are listed)."""

    target: str
    status: StepStatus = StepStatus.WAITING
    detail: str = ""
    link: str = ""  # where the deployer's run can be watched (a pipeline, an Application)


class DeployRequest(BaseModel):
    """One request, bound to exactly what was asked and the catalog it was checked against."""

    id: str
    action: Action = Action.DEPLOY
    service: str
    environment: str
    version: str
    requester: str
    reason: str = ""
    channel: str
    catalog_revision: str
    approvals_needed: int = 0
    state: State = State.PENDING
    created_at: float = Field(default_factory=time.time)
    expires_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    approvers: list[str] = Field(default_factory=list)
    rejected_by: str = ""
    steps: list[Step] = Field(default_factory=list)
    failure: str = ""
    card_channel: str = ""
    card_ts: str = ""
    queued_behind: str = ""
    undoes: str = ""  # a rollback: the request whose release it undoes
    undoes_version: str = ""
    stop_requested_by: str = ""  # who pressed Stop while it ran

    @property
    def targets(self) -> list[str]:
        return [step.target for step in self.steps]

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


class Deployed(BaseModel):
    """What runs in one data centre of an environment, and who put it there."""

    version: str
    request_id: str
    requester: str
    at: float


class AuditEvent(BaseModel):
    """One line of the append-only audit stream."""

    at: float = Field(default_factory=time.time)
    actor: str
    event: str
    request_id: str = ""
    service: str = ""
    environment: str = ""
    detail: str = ""
