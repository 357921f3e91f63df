"""What the governance of issue 10 asks of shipbot's memory: locks and holds, chat freezes,
the audit trail's hash chain and retention, and what binds a request to what was approved.
Part of :class:`bot.ports.store.Store`; bot/store/ answers it with Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.models import AuditEvent, HistoryEntry
from bot.ports.audit import Anchor, Entry, Link, Snapshot
from bot.ports.freezes import ChatFreeze
from bot.ports.locks import Hold, Lock, Locking


@dataclass(frozen=True)
class Restraints:
    """What may hold a new request back in one service's environment, read at one moment: its
    lock (None: free) and the chat freezes in force there (of the service and of ``all``)."""

    lock: Lock | None
    freezes: list[ChatFreeze]


class GovernanceStore(Protocol):
    # locks and holds (each ends by itself at its ``until``; see bot.ports.locks)
    async def take_lock(self, lock: Lock) -> Locking:
        """Lock the environment for ``lock.holder`` if it is free or already theirs."""
        ...

    async def lock_of(self, service: str, environment: str) -> Lock | None: ...

    async def release_lock(self, service: str, environment: str, holder: str) -> Lock | None:
        """End the lock only if ``holder`` holds it; the lock that ended, or None."""
        ...

    async def put_hold(self, hold: Hold) -> None: ...
    async def holds_at(self, service: str, environment: str, datacenter: str) -> list[Hold]: ...
    async def release_hold(
        self, service: str, environment: str, datacenter: str
    ) -> Hold | None: ...

    # change freezes (bot/domain/freezes)
    async def set_freeze(self, freeze: ChatFreeze) -> ChatFreeze | None:
        """Keep a chat freeze until its end, replacing one of the same service and environment
        unless that one ends no earlier (then it is kept). The one in force found there, kept
        or replaced (None: none)."""
        ...

    async def end_freeze(self, service: str, environment: str) -> ChatFreeze | None:
        """End the chat freeze of ``service`` (or ``all``) in ``environment``; what it was."""
        ...

    async def chat_freezes(self, environment: str, services: list[str]) -> list[ChatFreeze]:
        """The chat freezes in force in ``environment``: of ``all`` and of each of ``services``."""
        ...

    async def restraints(self, service: str, environment: str) -> Restraints:
        """The lock and the chat freezes of ``service`` in ``environment``, in one read."""
        ...

    async def set_waiting(self, request_id: str, waiting: str) -> None:
        """Why a queued request does not start yet (a freeze), for its card; "" when it may."""
        ...

    # the audit trail's hash chain, index and retention (audit) -----------------------------
    async def audit_of(self, request_id: str, limit: int = 20) -> tuple[list[AuditEvent], int]:
        """A request's newest ``limit`` audit events (newest first), found by the index
        however old they are, and how many it has."""
        ...

    async def audit_entries(
        self, after: str = "-", count: int = 1000, until: str = "+"
    ) -> list[Entry]:
        """Up to ``count`` entries in chain order after stream id ``after`` ('-': the oldest),
        up to ``until`` included ('+': the newest)."""
        ...

    async def audit_snapshot(self, count: int = 1000) -> Snapshot:
        """The head, the anchor, the newest entry's id and the oldest ``count`` entries, as
        one moment saw them."""
        ...

    async def audit_head(self) -> Link | None:
        """Where the chain ends: seq, hash, stream id; None before its first entry."""
        ...

    async def audit_anchor(self) -> Anchor | None:
        """The last entry retention trimmed, which the kept ones follow; None when none was."""
        ...

    async def trim_audit(self, before: float, now: float) -> int:
        """Drop the entries written before ``before`` (epoch seconds), leaving the anchor and
        a retention entry naming it; answers how many went."""
        ...

    async def keep_once(self, name: str, ttl_seconds: int) -> None:
        """Keep a claim of :meth:`claim_once` for ``ttl_seconds`` from now (what it was
        claimed for is done)."""
        ...

    # reject: Reject's reason and the SHA binding (issue 10)
    async def set_commit(self, request_id: str, sha: str, note: str, url: str = "") -> None:
        """The commit the request's version named when asked for, or ``note``: why not told."""
        ...

    async def rejections(
        self, service: str, environment: str, limit: int = 10
    ) -> list[HistoryEntry]:
        """Rejected requests of a service+environment (with who and why), newest first."""
        ...
