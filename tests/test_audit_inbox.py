"""The audit trail's inbox, in a real redis-server: a change writes its entry there in the same
step, unhashed; chain_audit (workers, readers) moves the entries into the hash chain, in inbox
order, with the hashes hashlib gives over the canonical encoding, batch after batch, by any
number of chainers at once; and whoever reads the trail sees every change made before."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

import pytest

from bot.app import audit_cli
from bot.app.audit_chaining import keep_chaining
from bot.app.audit_verify import check_redis, verify_redis
from bot.domain.audit_chain import ZERO_HASH, Entry, Link, canonical
from bot.models import AuditEvent
from bot.store import audit_inbox
from bot.store.requests import RedisStore, connect
from tests.fakes import RedisServer
from tests.test_store import request


def noted(n: int, actor: str = "U0X") -> AuditEvent:
    return AuditEvent(actor=actor, event="noted", request_id=f"d-{n}", detail=f"note {n} ✓")


async def inbox(store: RedisStore) -> list[tuple[str, dict[str, str]]]:
    return list(await store.redis.xrange(store.key.audit_inbox()))


async def chain(store: RedisStore) -> list[Entry]:
    """The chain as stored, read raw (no chaining first)."""
    return [Entry.of(i, f) for i, f in await store.redis.xrange(store.key.audit())]


@pytest.fixture
async def stores(redis_server: RedisServer) -> AsyncIterator[list[RedisStore]]:
    """Four stores, each with its own connections, on one emptied Redis: four processes."""
    clients = [connect(redis_server.url) for _ in range(4)]
    await clients[0].flushdb()
    yield [RedisStore(client) for client in clients]
    for client in clients:
        await client.aclose()


async def test_a_transition_leaves_its_entry_in_the_inbox_not_the_chain(
    store: RedisStore,
) -> None:
    """create() writes its `requested` entry to the inbox, with no seq, prev or hash, and
    nothing to the chain, its head or its index."""
    await store.create(request("d-1"))
    [(_, fields)] = await inbox(store)
    assert ("requested", "d-1") == (fields["event"], fields["request_id"])
    assert {"seq", "prev", "hash"}.isdisjoint(fields)
    assert [] == await chain(store)
    assert 0 == await store.redis.exists(store.key.audit_head(), store.key.audit_index())


async def test_chaining_gives_the_hashes_hashlib_gives(store: RedisStore) -> None:
    """Each chained entry keeps its inbox id and fields and gets seq 1..n, prev the hash
    before it, and hash the SHA-256 (hashlib) of its canonical encoding; the inbox empties
    and the head names the last."""
    for n in range(5):
        await store.note(noted(n))
    ids = [entry_id for entry_id, _ in await inbox(store)]
    assert 5 == await store.chain_audit()
    entries = await chain(store)
    assert ids == [e.id for e in entries]
    assert [str(n) for n in range(1, 6)] == [e.seq for e in entries]
    prev = ZERO_HASH
    for n, e in enumerate(entries):
        assert (prev, f"note {n} ✓") == (e.prev, e.detail)
        assert hashlib.sha256(canonical(e)).hexdigest() == e.hash
        prev = e.hash
    assert [] == await inbox(store)
    assert Link(5, prev, ids[-1]) == await store.audit_head()


async def test_chaining_in_batches_keeps_seq_and_prev_continuous(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten entries chained three at a time, then three more in a later call: one chain,
    seq 1..13 with no gap, each prev the hash before it; verify passes."""
    monkeypatch.setattr(audit_inbox, "CHAIN_BATCH", 3)
    for n in range(10):
        await store.note(noted(n))
    assert 10 == await store.chain_audit()
    for n in range(10, 13):
        await store.note(noted(n))
    assert 3 == await store.chain_audit()
    entries = await chain(store)
    assert [str(n) for n in range(1, 14)] == [e.seq for e in entries]
    assert [ZERO_HASH, *(e.hash for e in entries[:-1])] == [e.prev for e in entries]
    verdict = await verify_redis(store)
    assert (True, 13) == (verdict.ok, verdict.count)


async def test_entries_from_concurrent_writers_chain_in_inbox_order(
    stores: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three writers note 40 entries each at once while three chainers chain at once (small
    batches, so they race): every entry is chained once, in the inbox's order, and the
    whole verifies."""
    monkeypatch.setattr(audit_inbox, "CHAIN_BATCH", 4)
    writers, chainers = stores[:3], stores[1:]
    written: list[str] = []

    async def write(by: RedisStore, who: int) -> None:
        for n in range(40):
            written.append(await by._append(noted(n, actor=f"U0W{who}")))

    async def chain_all(by: RedisStore) -> int:
        total = 0
        while not done.is_set() or await by.audit_waiting():
            total += await by.chain_audit()
            await asyncio.sleep(0)
        return total

    done = asyncio.Event()
    chaining = [asyncio.create_task(chain_all(by)) for by in chainers]
    await asyncio.gather(*(write(by, who) for who, by in enumerate(writers)))
    done.set()
    counts = await asyncio.gather(*chaining)
    entries = await chain(stores[0])
    assert 120 == sum(counts) == len(entries)
    assert sorted(written, key=audit_inbox.stream_order) == [e.id for e in entries]
    assert [str(n) for n in range(1, 121)] == [e.seq for e in entries]
    assert (await verify_redis(stores[0])).ok


async def test_a_reader_sees_every_change_made_before_it_read(store: RedisStore) -> None:
    """Nothing chains in between: the reads chain first, so a request's entries, the trail,
    its length and its head all show every change already made."""
    r = request("d-1", approvals=1)
    await store.create(r)
    await store.approve(r, "U0ALICE", eligible=[0])
    events, count = await store.audit_of("d-1")
    assert (["queued", "approved", "approval", "requested"], 4) == (
        [e.event for e in events],
        count,
    )
    await store.note(noted(9))
    assert "noted" == (await store.audit_trail(count=1))[0].event
    assert 5 == await store.audit_length()
    await store.note(noted(10))
    head = await store.audit_head()
    assert head is not None and 6 == head.seq and [] == await inbox(store)


async def test_a_chainer_that_lost_the_race_changes_nothing(store: RedisStore) -> None:
    """A chainer read the head and the inbox, then another chained first: its commit is
    refused (moved), and the chain holds each entry once."""
    for n in range(3):
        await store.note(noted(n))
    head, waiting, _ = await store._waiting()
    assert 3 == await store.chain_audit()
    assert '{"outcome":"moved"}' == await store._chain(head, waiting)
    assert ["1", "2", "3"] == [e.seq for e in await chain(store)]


async def test_a_chainer_that_dies_before_its_commit_loses_nothing(store: RedisStore) -> None:
    """A chainer that read and hashed but never committed (its process died) left the inbox
    as it was; the next chainer chains every entry."""
    for n in range(3):
        await store.note(noted(n))
    await store._waiting()  # read, then gone
    assert 3 == len(await inbox(store))
    assert 3 == await store.chain_audit() and (await verify_redis(store)).ok


async def test_a_chain_written_before_the_inbox_goes_on_verifying(store: RedisStore) -> None:
    """Entries chained the old way (hashed in Redis, ids by XADD '*', the head beside them)
    are followed by entries through the inbox: seq and prev go on, and all verify."""
    prev = ZERO_HASH
    for seq in (1, 2):
        old = Entry.of("", {"seq": str(seq), "at": "1.0", "actor": "U0OLD", "prev": prev})
        fields = {**{k: getattr(old, k) for k in ("seq", "at", "actor", "prev")}}
        fields["hash"] = prev = hashlib.sha256(canonical(old)).hexdigest()
        entry_id = await store.redis.xadd(store.key.audit(), fields)
        await store.redis.hset(
            store.key.audit_head(), mapping={"seq": seq, "hash": prev, "id": entry_id}
        )
    await store.note(noted(3))
    verdict = await verify_redis(store)
    assert verdict.ok, verdict.broken
    assert verdict.last is not None and (3, 3) == (verdict.count, verdict.last.seq)


async def test_verify_reports_entries_left_waiting_when_chaining_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """verify run against a replica (its own redis-server, made a replica of a master that is
    gone): it cannot chain there, so it checks the chain as it is, says how many entries wait
    in the inbox, unchained, and exits 1."""
    with RedisServer() as server:
        store = RedisStore(connect(server.url))
        await store.note(noted(1))
        assert 1 == await store.chain_audit()
        await store.note(noted(2))
        await store.redis.execute_command("REPLICAOF", "127.0.0.1", "1")
        verdict, unchained = await check_redis(store)
        await store.redis.aclose()
    assert (True, 1) == (verdict.ok, verdict.count)
    assert unchained is not None and 1 == unchained.waiting
    assert 1 == audit_cli._say_unchained(unchained)
    out = capsys.readouterr().out
    assert "NOT CHAINED: 1 entries wait in the inbox" in out and "ReadOnlyError" in out


async def test_a_workers_chainer_chains_what_is_written_soon(store: RedisStore) -> None:
    """keep_chaining, as a worker runs it: an entry written while it waits is chained, at
    once when nudged (the wait is bounded by the test's timeout, not a sleep)."""
    nudge = asyncio.Event()
    chainer = asyncio.create_task(keep_chaining(store, nudge))
    try:
        await store.note(noted(1))
        nudge.set()
        async with asyncio.timeout(10):
            while await store.audit_waiting():
                await asyncio.sleep(0.01)
        assert 1 == len(await chain(store))
    finally:
        chainer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await chainer


class BrokenOnce(RedisStore):
    """A store whose first chain_audit raises what no store should (a bug)."""

    broken = False

    async def chain_audit(self) -> int:
        if not self.broken:
            self.broken = True
            raise RuntimeError("a chaining bug")
        return await super().chain_audit()


async def test_a_chaining_bug_is_logged_and_the_chainer_goes_on(
    store: RedisStore, caplog: pytest.LogCaptureFixture
) -> None:
    """keep_chaining logs an unexpected error with its traceback and chains on: an entry
    written after the failed round is chained."""
    nudge, broken = asyncio.Event(), BrokenOnce(store.redis)
    chainer = asyncio.create_task(keep_chaining(broken, nudge))
    try:
        async with asyncio.timeout(10):
            while not broken.broken:
                await asyncio.sleep(0.01)
            await store.note(noted(1))
            nudge.set()
            while await store.audit_waiting():
                await asyncio.sleep(0.01)
        errors = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
        assert [("could not chain the audit trail", True)] == errors
        assert 1 == len(await chain(store))
    finally:
        chainer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await chainer
