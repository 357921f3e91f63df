"""The deploy request's state machine, as one table: state and event -> next state, who may, and
what the audit trail records.

The Lua scripts in bot/store/lua/ perform these transitions; they cannot write a state the table
does not list, because the only way they change a state is ``move(key, event, ...)``, which the
loader (bot/store/scripts.py) generates from :data:`TABLE`. tests/test_machine*.py check both.

Several events happen in one script: an approval that reaches the quorum is ``approve`` then
``quorum`` then ``enqueue``; a request that needs no approval is ``create``, ``quorum``,
``enqueue``; a rollback that succeeds is ``succeed`` for itself and ``roll_back`` for the
release it undid.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Flag, StrEnum, auto

from bot.models import State


class Event(StrEnum):
    CREATE = "create"  # a person asks for a deploy or a rollback
    APPROVE = "approve"  # one approval is counted, the quorum not yet reached
    QUORUM = "quorum"  # the last approval needed came (or none was needed)
    ENQUEUE = "enqueue"  # an approved request joins its lane
    REJECT = "reject"
    CANCEL = "cancel"
    EXPIRE = "expire"  # no quorum before its approval window ended
    CLAIM = "claim"  # a worker starts it: it heads its lane
    STOP = "stop"  # someone asks the worker to stop; it stays running until it has ended
    SUCCEED = "succeed"
    FAIL = "fail"
    ORPHAN = "orphan"  # the sweep ends a deploy whose worker is gone
    ROLL_BACK = "roll_back"  # a rollback undid this release
    VOID = "void"  # a claimed request no longer fits what was approved: it ends, nothing run


class Who(Flag):
    """Who may cause an event (the store checks who it can; the domain checks approvers)."""

    REQUESTER = auto()
    APPROVER = auto()  # one of the environment's approvers, by the catalog's policy
    WORKER = auto()  # the worker that claimed the request (or claims it)
    SWEEP = auto()  # a worker's periodic checks
    SHIPBOT = auto()  # shipbot itself, as part of another event


@dataclass(frozen=True)
class Transition:
    state: State | None  # None: the request does not exist yet
    event: Event
    next: State
    who: Who
    audit: str  # the audit trail's event name


S, E, W = State, Event, Who
T = Transition

# fmt: off
TABLE: tuple[Transition, ...] = (
    #  state         event         next             who                      audit
    T(None,        E.CREATE,    S.PENDING,     W.REQUESTER,              "requested"),
    T(S.PENDING,   E.APPROVE,   S.PENDING,     W.APPROVER,               "approval"),
    T(S.PENDING,   E.QUORUM,    S.APPROVED,    W.APPROVER | W.SHIPBOT,   "approved"),
    T(S.APPROVED,  E.ENQUEUE,   S.QUEUED,      W.SHIPBOT,                "queued"),
    T(S.PENDING,   E.REJECT,    S.REJECTED,    W.APPROVER,               "rejected"),
    T(S.PENDING,   E.CANCEL,    S.CANCELLED,   W.REQUESTER,              "cancelled"),
    T(S.QUEUED,    E.CANCEL,    S.CANCELLED,   W.REQUESTER | W.APPROVER, "cancelled"),
    T(S.PENDING,   E.EXPIRE,    S.EXPIRED,     W.SWEEP | W.APPROVER,     "expired"),
    T(S.QUEUED,    E.CLAIM,     S.RUNNING,     W.WORKER,                 "running"),
    T(S.RUNNING,   E.STOP,      S.RUNNING,     W.REQUESTER | W.APPROVER, "stop_requested"),
    T(S.RUNNING,   E.SUCCEED,   S.SUCCEEDED,   W.WORKER,                 "succeeded"),
    T(S.RUNNING,   E.FAIL,      S.FAILED,      W.WORKER,                 "failed"),
    T(S.RUNNING,   E.ORPHAN,    S.FAILED,      W.SWEEP,                  "failed"),
    T(S.RUNNING,   E.VOID,      S.FAILED,      W.WORKER,                 "voided"),
    T(S.SUCCEEDED, E.ROLL_BACK, S.ROLLED_BACK, W.WORKER,                 "rolled_back"),
)
# fmt: on

_BY_STEP = {(t.state, t.event): t for t in TABLE}

ENDED = frozenset({S.SUCCEEDED, S.FAILED, S.ROLLED_BACK, S.REJECTED, S.CANCELLED, S.EXPIRED})
OPEN = frozenset({S.PENDING, S.APPROVED, S.QUEUED, S.RUNNING})


def transition(state: State | None, event: Event) -> Transition | None:
    """The row for ``event`` in ``state``, or None when the event cannot happen there."""
    return _BY_STEP.get((state, event))


def can(state: State | None, event: Event) -> bool:
    return (state, event) in _BY_STEP


def next_state(state: State | None, event: Event) -> State:
    """Where ``event`` takes a request in ``state``; ValueError when it cannot happen."""
    row = transition(state, event)
    if row is None:
        raise ValueError(f"{event} is no transition from {state}")
    return row.next
