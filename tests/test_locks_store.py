"""Locks and holds in a real redis-server: taken only when free or one's own, released only by
their holder, ended by Redis when their time is up."""

from __future__ import annotations

import asyncio
import time

from bot.ports.locks import ALL, Hold, Lock, LockOutcome
from bot.store.requests import RedisStore
from tests.waiting import until


def a_lock(holder: str = "U0ALICE", reason: str = "db migration", seconds: float = 3600) -> Lock:
    now = time.time()
    return Lock("web-h5", "prod", holder, reason, now, now + seconds, "C0DEPLOY")


def a_hold(service: str = "web-h5", dc: str = "dc-a", seconds: float = 3600) -> Hold:
    now = time.time()
    return Hold(service, "prod", dc, "U0ALICE", "maintenance", now, now + seconds)


async def test_a_free_environment_is_locked(store: RedisStore) -> None:
    """The first lock is taken and read back as it was asked."""
    lock = a_lock()
    taken = await store.take_lock(lock)
    assert (LockOutcome.LOCKED, lock) == (taken.outcome, taken.lock)
    assert lock == await store.lock_of("web-h5", "prod")


async def test_someone_elses_lock_is_not_taken(store: RedisStore) -> None:
    """Bob's lock on Alice's environment answers TAKEN with her lock, which stays."""
    mine = a_lock()
    await store.take_lock(mine)
    taken = await store.take_lock(a_lock("U0BOB", "hotfix"))
    assert (LockOutcome.TAKEN, mine) == (taken.outcome, taken.lock)
    assert mine == await store.lock_of("web-h5", "prod")


async def test_the_holder_locking_again_renews_it(store: RedisStore) -> None:
    """A new reason and expiry; the time it was first taken is kept."""
    first = a_lock(seconds=60)
    await store.take_lock(first)
    again = a_lock(reason="still migrating", seconds=7200)
    taken = await store.take_lock(again)
    assert LockOutcome.RENEWED == taken.outcome
    assert (first.since, again.until, "still migrating") == (
        taken.lock.since,
        taken.lock.until,
        taken.lock.reason,
    )
    ttl = await store.redis.ttl(store.key.lock("web-h5", "prod"))
    assert 7000 < ttl <= 7200


async def test_of_many_locking_at_once_one_wins(store: RedisStore) -> None:
    """Ten people racing: exactly one LOCKED, nine TAKEN naming the winner."""
    results = await asyncio.gather(*(store.take_lock(a_lock(f"U0P{i}")) for i in range(10)))
    winners = [r.lock.holder for r in results if r.outcome is LockOutcome.LOCKED]
    assert 1 == len(winners)
    assert {winners[0]} == {r.lock.holder for r in results}


async def test_only_the_named_holder_releases_a_lock(store: RedisStore) -> None:
    """Releasing as Bob leaves Alice's lock; as Alice it ends and comes back once."""
    lock = a_lock()
    await store.take_lock(lock)
    assert await store.release_lock("web-h5", "prod", "U0BOB") is None
    assert lock == await store.release_lock("web-h5", "prod", "U0ALICE")
    assert await store.lock_of("web-h5", "prod") is None
    assert await store.release_lock("web-h5", "prod", "U0ALICE") is None


async def test_a_lock_ends_by_itself(store: RedisStore) -> None:
    """A lock with a short time to live is gone once it passes, and can be taken again."""
    await store.take_lock(a_lock(seconds=0.2))

    async def gone() -> bool:
        return await store.lock_of("web-h5", "prod") is None

    await until(gone, "the lock expired")
    assert LockOutcome.LOCKED == (await store.take_lock(a_lock("U0BOB"))).outcome


async def test_a_service_hold_and_an_all_hold_both_count(store: RedisStore) -> None:
    """holds_at names the service's own hold, then the one of every service."""
    own, everyone = a_hold(), a_hold(ALL)
    await store.put_hold(own)
    await store.put_hold(everyone)
    assert [own, everyone] == await store.holds_at("web-h5", "prod", "dc-a")
    assert [everyone] == await store.holds_at("api", "prod", "dc-a")
    assert [] == await store.holds_at("web-h5", "prod", "dc-b")


async def test_released_hold_is_gone_and_answered_once(store: RedisStore) -> None:
    """Releasing answers the hold that ended; a second release finds none."""
    held = a_hold()
    await store.put_hold(held)
    assert held == await store.release_hold("web-h5", "prod", "dc-a")
    assert await store.release_hold("web-h5", "prod", "dc-a") is None
    assert [] == await store.holds_at("web-h5", "prod", "dc-a")


async def test_a_hold_ends_by_itself(store: RedisStore) -> None:
    """A hold with a short time to live is gone once it passes."""
    await store.put_hold(a_hold(seconds=0.2))

    async def gone() -> bool:
        return not await store.holds_at("web-h5", "prod", "dc-a")

    assert await until(gone, "the hold expired")
