"""`shipbot audit verify` against Redis, on a live system: entries are appended and retention
may trim while it reads. It checks the trail as one moment saw it: the head, the anchor, the
newest entry's id and the first page are read in one MULTI (Store.audit_snapshot), and only the
entries up to that newest one are read after (those appended since are the next verify's).
A trim between the pages drops entries not read yet and moves the anchor: when the anchor
moved during a check that failed, the check starts over (at most TRIES times)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.domain.audit_chain import Checker, Entry, Verdict
from bot.ports.audit import Snapshot

if TYPE_CHECKING:
    from bot.store.requests import RedisStore

PAGE = 1000  # entries read from Redis at a time
TRIES = 3  # checks of a trail that retention trimmed meanwhile (once a day: one more will do)


async def verify_redis(store: RedisStore) -> Verdict:
    """The whole trail kept, from its anchor to its head, checked."""
    for _ in range(TRIES):
        snapshot = await store.audit_snapshot(PAGE)
        verdict = await _verified(store, snapshot)
        if verdict.ok or await store.audit_anchor() == snapshot.anchor:
            break
    return verdict


async def _verified(store: RedisStore, snapshot: Snapshot) -> Verdict:
    checker = Checker.anchored(snapshot.anchor.link if snapshot.anchor else None)
    async for entry in _chained(store, snapshot):
        if not checker.add(entry):
            break
    return checker.verdict(snapshot.head)


async def _chained(store: RedisStore, snapshot: Snapshot) -> AsyncIterator[Entry]:
    """The snapshot's entries, skipping those written before the chain began (no hash, no
    seq: older than this version of shipbot) at its start."""
    legacy = True
    async for entry in _entries(store, snapshot):
        legacy = legacy and not entry.hash and not entry.seq
        if not legacy:
            yield entry


async def _entries(store: RedisStore, snapshot: Snapshot) -> AsyncIterator[Entry]:
    """Its first page, then the pages after it up to its newest entry (an entry past the head
    that the head does not know is read too: the head check then fails)."""
    page = snapshot.entries
    while page:
        for entry in page:
            yield entry
        if len(page) < PAGE or page[-1].id == snapshot.newest:
            return
        page = await store.audit_entries(page[-1].id, PAGE, snapshot.newest)
