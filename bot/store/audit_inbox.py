"""The audit trail's inbox and its chaining. Every script that changes state writes its audit
entry to the inbox stream in the same atomic step (bot/store/lua/_chain.lua), unhashed, so the
ack path spends no Redis time on SHA-256. :meth:`AuditInbox.chain_audit` moves the inbox's
entries, oldest first, into the hash chain: it reads the chain's head and the oldest entries,
hashes them here (bot/ports/audit.py canonical(), hashlib: microseconds, not the ~0.1 ms per
64-byte block of SHA-256 in Redis's Lua), and chain.lua writes them to the chain and drops
them from the inbox in one step, unless another chainer moved the head meanwhile (then it
reads again). Workers chain continuously; every reader of the trail chains first."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.ports.audit import ZERO_HASH, Entry, entry_hash
from bot.ports.store import StoreFailed
from bot.store import scripts
from bot.store.base import StoreBase, translated

CHAIN_BATCH = 100  # entries one chain step moves (well under a millisecond of Redis)
CHAIN_RACES = 1000  # times in a row another chainer may go first before chain_audit gives up


class AuditInbox(StoreBase):
    @translated
    async def chain_audit(self) -> int:
        """Chain every entry waiting in the inbox when called (those written later are left
        for the next call); answers how many this call chained. Safe to run in any number of
        processes at once: each entry is chained once, in inbox order."""
        upto: tuple[int, int] | None = None
        chained = races = 0
        while True:
            head, waiting, newest = await self._waiting()
            upto = upto or (stream_order(newest) if newest else (0, 0))
            batch = [(i, fields) for i, fields in waiting if stream_order(i) <= upto]
            if not batch:
                return chained
            answer = json.loads(await self._chain(head, batch))
            if answer["outcome"] == "chained":
                chained, races = chained + int(answer["count"]), 0
            elif (races := races + 1) >= CHAIN_RACES:
                raise StoreFailed("the audit chain's head keeps moving under chain_audit")

    async def _waiting(self) -> tuple[list[str | None], list[tuple[str, dict[str, str]]], str]:
        """The head's seq and hash, the oldest entries waiting, and the newest's id ("")."""
        k = self.key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(k.audit_head(), ["seq", "hash"])
            pipe.xrange(k.audit_inbox(), count=CHAIN_BATCH)
            pipe.xrevrange(k.audit_inbox(), count=1)
            head, waiting, newest = await pipe.execute()
        return head, waiting, newest[0][0] if newest else ""

    async def _chain(
        self, head: list[str | None], batch: Sequence[tuple[str, dict[str, str]]]
    ) -> str:
        seq, prev = head[0] or "", head[1] or ""
        if not (seq or "0").isdigit():
            raise StoreFailed(f"the audit chain's head has no valid seq: {seq!r}")
        links: list[str] = []
        at, link = int(seq or 0), prev or ZERO_HASH
        for entry_id, fields in batch:
            at += 1
            entry = Entry.of(entry_id, {**fields, "seq": str(at), "prev": link})
            link = entry_hash(entry)
            links += [entry_id, link]
        k = self.key
        keys = {
            "audit_inbox": k.audit_inbox(), "audit": k.audit(), "audit_head": k.audit_head(),
            "audit_index": k.audit_index(),
        }  # fmt: skip
        args = {"seq": seq, "hash": prev, "links": links}
        return str(await self.scripts[scripts.CHAIN.name](keys, args))

    @translated
    async def audit_waiting(self) -> int:
        """How many entries wait in the inbox, not chained yet."""
        return int(await self.redis.xlen(self.key.audit_inbox()))


def stream_order(entry_id: str) -> tuple[int, int]:
    """A Redis stream entry id (``ms-sequence``) as a key that sorts the entries in order."""
    ms, _, sequence = entry_id.partition("-")
    return int(ms), int(sequence or 0)
