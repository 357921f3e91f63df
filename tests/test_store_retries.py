"""What the store answers to a retry, and how its errors read: a claim retried as the same
attempt, an orphan whose worker came back, a script stopped by a bug, Redis unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.models import State
from bot.ports.store import (
    Claim,
    ClaimOutcome,
    Finished,
    FinishOutcome,
    StoreFailed,
    StoreUnavailable,
)
from bot.store.keys import Keys
from bot.store.requests import RedisStore, connect
from tests.fakes import RedisServer
from tests.test_store import finish_record, request


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    client = connect(redis_server.url)
    await client.flushdb()
    yield RedisStore(client)
    await client.aclose()


async def test_a_claim_retried_as_the_same_attempt_is_answered_running_again(
    store: RedisStore,
) -> None:
    """A retry whose first answer was lost runs on; another attempt is refused."""
    r = request(approvals=0)
    await store.create(r)
    assert Claim(ClaimOutcome.RUNNING) == await store.claim(r, "w1", "attempt-1")
    assert Claim(ClaimOutcome.RUNNING) == await store.claim(r, "w1", "attempt-1")
    refused = Claim(ClaimOutcome.NOT_QUEUED, state=State.RUNNING)
    assert (refused, refused) == (
        await store.claim(r, "w1", "attempt-2"),
        await store.claim(r, "w2", "attempt-1"),
    )


async def test_the_sweep_ends_no_run_whose_lease_is_held(store: RedisStore) -> None:
    """A worker that renewed its lease after the sweep found it lapsed keeps its run."""
    r = request(approvals=0)
    await store.create(r)
    await store.claim(r, "w1", "attempt-1")
    answer = await store.finish_orphan(finish_record(r, "sweeper", State.FAILED, "lost"))
    assert Finished(FinishOutcome.NOT_RUNNING, "", State.RUNNING) == answer
    await store.redis.delete(Keys("shipbot").lease(r.id))
    answer = await store.finish_orphan(finish_record(r, "sweeper", State.FAILED, "lost"))
    assert Finished(FinishOutcome.FINISHED, "", State.FAILED) == answer


async def test_a_request_id_taken_is_a_failure_that_writes_nothing(store: RedisStore) -> None:
    """A second request with an existing id (a bug) fails and leaves the first as it was."""
    await store.create(request(approvals=1))
    with pytest.raises(StoreFailed):
        await store.create(request(approvals=0, version="v9"), "another-delivery")
    kept = await store.get("d-1")
    assert kept is not None and (State.PENDING, "v1") == (kept.state, kept.version)


async def test_a_key_of_the_wrong_type_is_a_failure_not_an_outage(store: RedisStore) -> None:
    """Redis refusing a command (WRONGTYPE) is StoreFailed: retrying would not mend it."""
    r = request(approvals=0)
    await store.redis.set(Keys("shipbot").lane(r.service, r.environment), "not a list")
    with pytest.raises(StoreFailed):
        await store.create(r)


async def test_redis_unreachable_is_an_outage() -> None:
    """Nothing listening: StoreUnavailable, worth retrying."""
    client = connect("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        await RedisStore(client).get("d-1")
    await client.aclose()
