"""The store's audit trail: a Redis stream, hash-chained (entries are written to an inbox with
their change and chained soon after: see bot/store/audit_inbox.py), with its head, a
per-request index, and the anchor retention leaves. Each read of the trail chains the inbox
first, so it sees every change made before it."""

from __future__ import annotations

from typing import Any

from redis.asyncio.client import Pipeline

from bot.models import AuditEvent
from bot.ports.audit import Anchor, Entry, Link, Snapshot
from bot.store import scripts
from bot.store.audit_inbox import AuditInbox, stream_order
from bot.store.base import translated

TRIM_CHUNK = 500  # entries one trim step drops (one short script, so Redis never stalls)


class AuditStore(AuditInbox):
    def _audit_keys(self, seen: str = "") -> dict[str, str]:
        k = self.key
        return {"audit_inbox": k.audit_inbox(), "seen": seen}

    async def _append(self, event: AuditEvent, seen: str = "", pipe: Pipeline | None = None) -> Any:
        args = event.model_dump()
        args["at"] = repr(float(event.at))  # as the transitions' A.now is written
        return await self.scripts[scripts.NOTE.name](self._audit_keys(seen), args, client=pipe)

    @translated
    async def note(self, event: AuditEvent, delivery: str = "") -> None:
        """Add an event that changes no state (a refused click, say) to the audit trail, once
        per Slack ``delivery``: a retry or replay of it adds nothing."""
        await self._append(event, self.key.seen(delivery))

    @translated
    async def audit_length(self) -> int:
        await self.chain_audit()
        return int(await self.redis.xlen(self.key.audit()))

    @translated
    async def audit_trail(self, count: int = 100) -> list[AuditEvent]:
        await self.chain_audit()
        entries = await self.redis.xrevrange(self.key.audit(), count=count)
        return [_event(fields) for _, fields in entries]

    @translated
    async def audit_of(self, request_id: str, limit: int = 20) -> tuple[list[AuditEvent], int]:
        """A request's newest ``limit`` entries (newest first) and how many it has, found by
        the index, however old (within retention)."""
        await self.chain_audit()
        index, low, high = self.key.audit_index(), f"[{request_id}|", f"[{request_id}|\xff"
        members = await self.redis.zrangebylex(index, low, high)
        ids = sorted((m.rsplit("|", 1)[1] for m in members), key=stream_order, reverse=True)
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ids[:limit]:
                pipe.xrange(self.key.audit(), entry_id, entry_id)
            found = await pipe.execute()
        return [_event(got[0][1]) for got in found if got], len(ids)

    @translated
    async def audit_entries(
        self, after: str = "-", count: int = 1000, until: str = "+", chain: bool = True
    ) -> list[Entry]:
        """Up to ``count`` entries in chain order, from the stream id after ``after``
        ('-': from the oldest kept) up to ``until`` (included; '+': the newest); ``chain``:
        chain the inbox first."""
        if chain:
            await self.chain_audit()
        start = after if after == "-" else f"({after}"
        raw = await self.redis.xrange(self.key.audit(), start, until, count=count)
        return [Entry.of(entry_id, fields) for entry_id, fields in raw]

    @translated
    async def audit_head(self) -> Link | None:
        """Where the chain ends (seq, hash, stream id); None before its first entry."""
        await self.chain_audit()
        return _head(await self.redis.execute_command("HGETALL", self.key.audit_head()))

    @translated
    async def audit_anchor(self) -> Anchor | None:
        """The last entry retention trimmed; None when none was."""
        return _anchor(await self.redis.execute_command("HGETALL", self.key.audit_anchor()))

    @translated
    async def audit_snapshot(self, count: int = 1000, chain: bool = True) -> Snapshot:
        """The head, the anchor, the newest entry's id, the oldest ``count`` entries and how
        many wait in the inbox, read in one MULTI: consistent with each other, whatever is
        appended, chained or trimmed meanwhile. ``chain``: chain the inbox first."""
        if chain:
            await self.chain_audit()
        k = self.key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.execute_command("HGETALL", k.audit_head())
            pipe.execute_command("HGETALL", k.audit_anchor())
            pipe.xrevrange(k.audit(), count=1)
            pipe.xrange(k.audit(), count=count)
            pipe.xlen(k.audit_inbox())
            head, anchor, newest, first, waiting = await pipe.execute()
        entries = [Entry.of(entry_id, fields) for entry_id, fields in first]
        newest_id = newest[0][0] if newest else ""
        return Snapshot(_head(head), _anchor(anchor), newest_id, entries, int(waiting))

    @translated
    async def trim_audit(self, before: float, now: float) -> int:
        """Drop the entries written before ``before`` (epoch seconds), chunk by chunk, and
        their index members; the anchor names the last one dropped, and each step appends a
        ``retention`` entry naming it. The inbox is chained before (only chained entries are
        trimmed) and after (the retention entries with the rest). Answers how many went."""
        keys = {
            "audit_inbox": self.key.audit_inbox(), "audit": self.key.audit(),
            "audit_index": self.key.audit_index(), "audit_anchor": self.key.audit_anchor(),
        }  # fmt: skip
        await self.chain_audit()
        args = {"before": f"{int(before * 1000)}-0", "now": now, "chunk": TRIM_CHUNK}
        gone = total = TRIM_CHUNK
        while gone == TRIM_CHUNK:
            gone = int(await self.scripts[scripts.TRIM_AUDIT.name](keys, args))
            total += gone
        await self.chain_audit()
        return total - TRIM_CHUNK

    @translated
    async def keep_once(self, name: str, ttl_seconds: int) -> None:
        await self.redis.expire(self.key.once(name), ttl_seconds)


def _head(got: Any) -> Link | None:
    head = _fields(got)
    return Link(int(head["seq"]), head["hash"], head["id"]) if head else None


def _anchor(got: Any) -> Anchor | None:
    anchor = _fields(got)
    if not anchor:
        return None
    link = Link(int(anchor["seq"]), anchor["hash"], anchor["id"])
    return Anchor(link, float(anchor["trimmed_at"]))


def _fields(got: Any) -> dict[str, str]:
    return dict(got) if got else {}


def _event(fields: dict[str, str]) -> AuditEvent:
    return AuditEvent.model_validate({k: v for k, v in fields.items() if k in _EVENT_FIELDS})


_EVENT_FIELDS = set(AuditEvent.model_fields)
