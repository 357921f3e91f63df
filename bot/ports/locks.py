"""Locks and holds as the store keeps them: who, why, since and until when (epoch seconds).

A lock keeps one service's environment for its holder's deploys; a hold makes deploys skip
one data centre of an environment, for one service or for all (``service`` is ``ALL``). Both
end by themselves at ``until``: the store gives each a time to live.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ALL = "all"  # a hold of every service's data centre


@dataclass(frozen=True)
class Lock:
    service: str
    environment: str
    holder: str  # a Slack user id
    reason: str
    since: float
    until: float
    channel: str = ""  # where it was taken: its holder is told there when an admin breaks it


@dataclass(frozen=True)
class Hold:
    service: str  # a service name, or ALL
    environment: str
    datacenter: str
    holder: str
    reason: str
    since: float
    until: float


class LockOutcome(StrEnum):
    LOCKED = "locked"  # it was free: it is the holder's now
    RENEWED = "renewed"  # the holder held it already: reason and expiry updated
    TAKEN = "taken"  # someone else holds it: nothing changed


@dataclass(frozen=True)
class Locking:
    """What taking a lock did; ``lock`` is the lock in force now (the other's when TAKEN)."""

    outcome: LockOutcome
    lock: Lock
