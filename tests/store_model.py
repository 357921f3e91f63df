"""A model of what the store answers, for tests/test_machine_property.py: the rules the Lua
scripts implement, said again in a few lines of Python, for three requests of one lane."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.machine import Event
from bot.models import Created, State, Workers
from bot.ports.store import (
    Approval,
    ApprovalOutcome,
    Claim,
    ClaimOutcome,
    Ended,
    EndOutcome,
    ExpireOutcome,
    Finished,
    FinishOutcome,
    StopAsked,
    StopOutcome,
)

IDS = ("r0", "r1", "r2")  # one lane; r2 may be a rollback of r0's release (or of one not on record)
REQUESTER = "U0DEV"
WORKERS, SWEEPER = ("w1", "w2"), "sweeper"
START, WINDOW = 1_000_000.0, 100.0  # a request waits WINDOW seconds for its approvals


@dataclass(frozen=True)
class Act:
    kind: str
    rid: str
    who: str
    delivery: str  # a Slack delivery: "" a fresh one (named when played), else maybe seen
    flag: bool  # cancel: the caller allows a queued one; finish: succeeded; tick: a long one;
    # orphan: its lease lapsed first


@dataclass
class Req:
    needed: int
    undoes: str = ""
    state: State | None = None
    approvers: set[str] = field(default_factory=set)
    expires_at: float = 0.0
    worker: str = ""
    stop_by: str = ""
    finished_by: str = ""
    leased: bool = False  # its worker's lease is held


class Model:
    """What the store should answer, from the rules the scripts implement."""

    def __init__(self, needed: list[int], undoes: str) -> None:
        self.reqs = {
            rid: Req(n, undoes if rid == "r2" else "") for rid, n in zip(IDS, needed, strict=True)
        }
        self.lane: list[str] = []
        self.seen: set[str] = set()
        self.clock, self.finished = START, 0
        self.audited = "0-0"  # the id of the last audit line checked
        self.ran: Counter[str] = Counter()

    def head(self) -> str:
        return self.lane[0] if self.lane else ""

    def gate(self, act: Act, r: Req) -> str:
        """ "replay" when a person's delivery was seen before (else it is seen now), "missing"
        when the request does not exist, "" when the action goes on."""
        if act.delivery in self.seen:
            return "replay"
        self.seen.add(act.delivery)
        return "missing" if r.state is None else ""

    def predict(self, act: Act) -> object:
        return getattr(self, act.kind)(act, self.reqs[act.rid])

    def create(self, act: Act, r: Req) -> Created | None:
        if r.state is not None:
            return None  # its delivery again
        r.expires_at = self.clock + WINDOW
        if r.needed:
            return Created(State.PENDING, "", "", Workers(0, None))
        self.lane.append(act.rid)
        ahead = self.lane[-2] if len(self.lane) > 1 else ""
        return Created(State.QUEUED, self.head(), ahead, Workers(0, None))

    def approve(self, act: Act, r: Req) -> Approval:
        if gate := self.gate(act, r):
            return Approval(ApprovalOutcome(gate))
        if r.state is not State.PENDING:
            return Approval(ApprovalOutcome.CLOSED, state=r.state)
        if self.clock > r.expires_at:
            return Approval(ApprovalOutcome.EXPIRED)
        if act.who in r.approvers:
            return Approval(ApprovalOutcome.DUPLICATE)
        r.approvers.add(act.who)
        if len(r.approvers) < r.needed:
            return Approval(ApprovalOutcome.RECORDED, count=len(r.approvers))
        self.lane.append(act.rid)
        return Approval(ApprovalOutcome.QUEUED, head=self.head())

    def reject(self, act: Act, r: Req) -> Ended:
        if gate := self.gate(act, r):
            return Ended(EndOutcome(gate))
        if r.state is not State.PENDING:
            return Ended(EndOutcome.CLOSED, state=r.state)
        return Ended(EndOutcome.ENDED)

    def cancel(self, act: Act, r: Req) -> Ended:
        if gate := self.gate(act, r):
            return Ended(EndOutcome(gate))
        if r.state is State.PENDING:
            ok = act.who == REQUESTER
            return Ended(EndOutcome.ENDED if ok else EndOutcome.NOT_REQUESTER)
        if r.state is not State.QUEUED or not act.flag:
            return Ended(EndOutcome.CLOSED, state=r.state)
        at = self.lane.index(act.rid)
        behind = self.lane[at + 1] if at + 1 < len(self.lane) else ""
        self.lane.remove(act.rid)
        return Ended(EndOutcome.ENDED, start=self.head() if at == 0 else "", behind=behind)

    def stop(self, act: Act, r: Req) -> StopAsked:
        if gate := self.gate(act, r):
            return StopAsked(StopOutcome(gate))
        if r.state is not State.RUNNING:
            return StopAsked(StopOutcome.CLOSED, state=r.state)
        if r.stop_by:
            return StopAsked(StopOutcome.DUPLICATE, by=r.stop_by)
        r.stop_by = act.who
        return StopAsked(StopOutcome.STOPPING)

    def claim(self, act: Act, r: Req) -> Claim:
        if r.state is not State.QUEUED:
            return Claim(ClaimOutcome.NOT_QUEUED, state=r.state)
        if self.head() != act.rid:
            return Claim(ClaimOutcome.WAITING, head=self.head())
        r.worker, r.leased = act.who, True
        return Claim(ClaimOutcome.RUNNING)

    def finish(self, act: Act, r: Req, orphan: bool = False) -> Finished:
        if r.state is not State.RUNNING:
            if r.state is not None and r.finished_by == act.who:
                return Finished(FinishOutcome.ALREADY, self.head(), r.state)
            return Finished(FinishOutcome.NOT_RUNNING, "", r.state)
        if not orphan and r.worker != act.who:
            return Finished(FinishOutcome.NOT_RUNNING, "", r.state)
        if orphan and r.leased:  # its worker is alive after all
            return Finished(FinishOutcome.NOT_RUNNING, "", r.state)
        r.finished_by, self.finished = act.who, self.finished + 1
        self.lane.remove(act.rid)
        final = State.SUCCEEDED if act.flag and not orphan else State.FAILED
        return Finished(FinishOutcome.FINISHED, self.head(), final)

    def orphan(self, act: Act, r: Req) -> Finished:
        r.leased = r.leased and not act.flag
        return self.finish(Act("orphan", act.rid, SWEEPER, "", False), r, orphan=True)

    def expire(self, act: Act, r: Req) -> ExpireOutcome:
        if r.state is not State.PENDING:
            return ExpireOutcome.NOT_PENDING
        return ExpireOutcome.EXPIRED if self.clock > r.expires_at else ExpireOutcome.NOT_DUE

    def tick(self, act: Act, r: Req) -> None:
        self.clock += WINDOW if act.flag else WINDOW / 4


def events_of(act: Act, result: object) -> list[Event]:
    """The events of the table that an answer says happened to the request acted on."""
    match result:
        case Created(state=State.PENDING):
            return [Event.CREATE]
        case Created():
            return [Event.CREATE, Event.QUORUM, Event.ENQUEUE]
        case Approval(outcome=ApprovalOutcome.RECORDED):
            return [Event.APPROVE]
        case Approval(outcome=ApprovalOutcome.QUEUED):
            return [Event.APPROVE, Event.QUORUM, Event.ENQUEUE]
        case Approval(outcome=ApprovalOutcome.EXPIRED) | ExpireOutcome.EXPIRED:
            return [Event.EXPIRE]
        case Ended(outcome=EndOutcome.ENDED):
            return [Event.REJECT if act.kind == "reject" else Event.CANCEL]
        case StopAsked(outcome=StopOutcome.STOPPING):
            return [Event.STOP]
        case Claim(outcome=ClaimOutcome.RUNNING):
            return [Event.CLAIM]
        case Finished(outcome=FinishOutcome.FINISHED, state=State.SUCCEEDED):
            return [Event.SUCCEED]
        case Finished(outcome=FinishOutcome.FINISHED):
            return [Event.ORPHAN if act.kind == "orphan" else Event.FAIL]
    return []
