"""`shipbot audit verify` against Redis, on a live system: entries are appended and retention
may trim while it reads. It checks the trail as one moment saw it: the head, the anchor, the
newest entry's id and the first page are read in one MULTI (Store.audit_snapshot), and only the
entries up to that newest one are read after (those appended since are the next verify's).
A trim between the pages drops entries not read yet and moves the anchor: when the anchor
moved during a check that failed, the check starts over (at most TRIES times).

Each check chains the inbox first (Store.chain_audit), so it covers every change made before
it started. Should chaining fail, the chain is still checked as it is, and the entries left
waiting in the inbox are reported (:class:`Unchained`): they are written but not hashed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain.audit_chain import Broken, Checker, Entry, Verdict
from bot.ports.audit import Snapshot
from bot.ports.store import StoreFailed, StoreUnavailable

if TYPE_CHECKING:
    from bot.store.requests import RedisStore

PAGE = 1000  # entries read from Redis at a time
TRIES = 3  # checks of a trail that retention trimmed meanwhile (once a day: one more will do)


@dataclass(frozen=True)
class Unchained:
    """Chaining the inbox failed: ``waiting`` entries were left there, not hashed, and why."""

    waiting: int
    why: str


async def verify_redis(store: RedisStore) -> Verdict:
    """The whole trail kept, from its anchor to its head, checked."""
    return (await check_redis(store))[0]


async def check_redis(store: RedisStore) -> tuple[Verdict, Unchained | None]:
    """The whole trail kept, checked after chaining the inbox; and, when chaining failed,
    what was left in the inbox."""
    for _ in range(TRIES):
        why = await _chain(store)
        snapshot = await store.audit_snapshot(PAGE, chain=False)
        verdict = await _verified(store, snapshot)
        if verdict.ok or not await _moved(store, snapshot, verdict):
            break
    return verdict, Unchained(snapshot.waiting, why) if why else None


async def _chain(store: RedisStore) -> str:
    """Chain the inbox; why that failed ("": it did not). Redis may refuse writes and still
    answer reads (out of memory, a replica): the chain is then checked as it is."""
    try:
        await store.chain_audit()
    except (StoreFailed, StoreUnavailable) as error:
        return str(error)
    return ""


async def _moved(store: RedisStore, snapshot: Snapshot, verdict: Verdict) -> bool:
    """Whether retention trimmed during the check: the anchor moved after the snapshot, or it
    had moved before it with its retention entry still waiting in the inbox."""
    if await store.audit_anchor() != snapshot.anchor:
        return True
    anchor = verdict.broken is not None and verdict.broken.kind is Broken.ANCHOR
    return anchor and snapshot.waiting > 0


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
        page = await store.audit_entries(page[-1].id, PAGE, snapshot.newest, chain=False)
