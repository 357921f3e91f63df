"""`shipbot audit verify` on a busy trail, in a real redis-server: entries appended while it
reads, a retention trim while it reads, an entry added past the head by hand; and the anchor
checked against the retention entries, so the oldest entries cannot be dropped unseen. The
reads are driven step by step: the store's reads are wrapped to act between them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.app import audit_cli, audit_verify
from bot.domain.audit_chain import FIELDS, Broken, Entry, Verdict, entry_hash
from bot.models import AuditEvent
from bot.store import scripts
from bot.store.requests import RedisStore, connect
from tests.fakes import RedisServer

Hook = Callable[[RedisStore, Any], Awaitable[None]]


@pytest.fixture
async def store(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RedisStore]:
    """A fresh trail of 7 entries, which verify reads 2 at a time."""
    monkeypatch.setattr(audit_verify, "PAGE", 2)
    monkeypatch.setattr(audit_cli, "PAGE", 2, raising=False)  # where it was read before
    client = connect(redis_server.url)
    await client.flushdb()
    store = RedisStore(client)
    for n in range(7):
        await store.note(AuditEvent(actor="U0X", event="noted", request_id=f"d-{n}"))
    yield store
    await client.aclose()


async def verified(redis_server: RedisServer) -> Verdict:
    """What `shipbot audit verify` finds (with its own connection, which it closes)."""
    return await audit_cli._verify_redis(RedisStore(connect(redis_server.url)))


def around(monkeypatch: pytest.MonkeyPatch, name: str, before: Hook, after: Hook) -> None:
    """Every RedisStore's ``name`` runs ``before(store, None)`` and ``after(store, answer)``
    around itself."""
    method = getattr(RedisStore, name)

    async def calling(self: RedisStore, *args: Any, **kwargs: Any) -> Any:
        await before(self, None)
        got = await method(self, *args, **kwargs)
        await after(self, got)
        return got

    monkeypatch.setattr(RedisStore, name, calling)


async def nothing(store: RedisStore, got: Any) -> None:
    return None


async def note(store: RedisStore) -> None:
    await store.note(AuditEvent(actor="U0Y", event="noted", request_id="d-late"))


async def trim_before(store: RedisStore, entry_id: str) -> int:
    """Retention's own script (one step), dropping every entry before ``entry_id``."""
    k = store.key
    keys = {
        "audit_inbox": k.audit_inbox(), "audit": k.audit(), "audit_index": k.audit_index(),
        "audit_anchor": k.audit_anchor(),
    }  # fmt: skip
    args = {"before": entry_id, "now": 1.0, "chunk": 500}
    return int(await store.scripts[scripts.TRIM_AUDIT.name](keys, args))


async def test_entries_appended_while_it_reads_are_left_for_the_next_verify(
    store: RedisStore, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry is appended right after the head is read (in the snapshot) and after each page
    read (three at most): verify checks the 7 entries there were when it began, and passes."""
    appended: list[int] = []

    async def append(by: RedisStore, got: Any) -> None:
        if len(appended) < 3:
            appended.append(1)
            await note(by)

    async def append_one(by: RedisStore, got: Any) -> None:
        await note(by)

    around(monkeypatch, "audit_entries", nothing, append)
    around(monkeypatch, "audit_snapshot", nothing, append_one)
    verdict = await verified(redis_server)
    assert verdict.ok, verdict.broken
    assert 7 == verdict.count and verdict.last is not None and 7 == verdict.last.seq
    assert 7 < await store.audit_length()


async def test_a_trim_while_it_reads_is_no_false_break(
    store: RedisStore, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention drops the first four entries while verify reads (after its first page):
    verify still passes, from the new anchor, with the retention entry at the end."""
    entries = await store.audit_entries()
    trimmed: list[int] = []

    async def trim(by: RedisStore, got: Any) -> None:
        if not trimmed:
            trimmed.append(await trim_before(by, entries[4].id))

    around(monkeypatch, "audit_entries", trim, nothing)
    verdict = await verified(redis_server)
    assert [4] == trimmed
    assert verdict.ok, verdict.broken
    assert (4, 8) == (verdict.count, verdict.last.seq if verdict.last else 0)


async def test_a_trim_after_it_chained_and_before_its_snapshot_is_no_false_break(
    store: RedisStore, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention trims between verify's chaining and its snapshot: the snapshot has the new
    anchor while the retention entry naming it still waits in the inbox. verify chains again
    and checks again, and passes, the retention entry at the end."""
    entries = await store.audit_entries()
    trimmed: list[int] = []

    async def trim(by: RedisStore, got: Any) -> None:
        if not trimmed:
            trimmed.append(await trim_before(by, entries[4].id))

    around(monkeypatch, "audit_snapshot", trim, nothing)
    verdict = await verified(redis_server)
    assert [4] == trimmed
    assert verdict.ok, verdict.broken
    assert (4, 8) == (verdict.count, verdict.last.seq if verdict.last else 0)


async def test_an_entry_added_past_the_head_by_hand_breaks_it(
    store: RedisStore, redis_server: RedisServer
) -> None:
    """A well chained entry XADDed by hand (the head kept beside the stream does not know
    it): broken at the end, where the head is."""
    last = (await store.audit_entries())[-1]
    forged = Entry.of("", {"seq": "8", "at": "1.0", "actor": "U0Z", "event": "approved",
                           "prev": last.hash})  # fmt: skip
    fields = {name: getattr(forged, name) for name in FIELDS} | {"hash": entry_hash(forged)}
    await store.redis.xadd(store.key.audit(), fields)
    broken = (await verified(redis_server)).broken
    assert broken is not None and Broken.HEAD is broken.kind
    assert f"its head says seq 7 ({last.id}" in broken.message


async def test_the_oldest_entries_dropped_by_hand_are_caught(
    store: RedisStore, redis_server: RedisServer
) -> None:
    """XTRIM of the first three entries and an anchor forged to name the third: no retention
    entry names that anchor, so verify fails at the start, saying why."""
    entries = await store.audit_entries()
    await store.redis.xtrim(store.key.audit(), minid=entries[3].id, approximate=False)
    anchor = {"seq": "3", "hash": entries[2].hash, "id": entries[2].id, "trimmed_at": "1.0"}
    await store.redis.hset(store.key.audit_anchor(), mapping=anchor)
    broken = (await verified(redis_server)).broken
    assert broken is not None and Broken.ANCHOR is broken.kind
    assert (entries[3].id, 1) == (broken.id, broken.position)
    why = f"the anchor (seq 3, hash {entries[2].hash}) is named by no retention entry"
    assert why in broken.message and "entries at the start may have been deleted" in broken.message


async def test_more_dropped_after_a_real_trim_are_caught(
    store: RedisStore, redis_server: RedisServer
) -> None:
    """Retention trimmed two entries (its entry names seq 2); two more are dropped by hand
    and the anchor moved to seq 4: it is not what the retention entry names."""
    entries = await store.audit_entries()
    assert 2 == await trim_before(store, entries[2].id)
    assert (await verified(redis_server)).ok
    await store.redis.xtrim(store.key.audit(), minid=entries[4].id, approximate=False)
    anchor = {"seq": "4", "hash": entries[3].hash, "id": entries[3].id}
    await store.redis.hset(store.key.audit_anchor(), mapping=anchor)
    broken = (await verified(redis_server)).broken
    assert broken is not None and Broken.ANCHOR is broken.kind
    assert f"names (seq 2, hash {entries[1].hash})" in broken.message
