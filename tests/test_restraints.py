"""What may hold a new request back, read in one round trip: the environment's lock and the
chat freezes in force there (real redis-server)."""

from __future__ import annotations

import time

from bot.models import RESTRAINED, Created, State
from bot.ports.freezes import ALL, ChatFreeze
from bot.ports.governance_store import Restraints
from bot.store.keys import Keys
from bot.store.requests import RedisStore
from tests.test_locks_store import a_lock
from tests.test_store import request


def a_freeze(
    service: str = "web-h5", environment: str = "prod", seconds: float = 600
) -> ChatFreeze:
    now = time.time()
    return ChatFreeze(service, environment, "close", "U0ALICE", now, now + seconds)


async def test_a_free_open_environment_has_no_restraints(store: RedisStore) -> None:
    """Nothing stored: no lock, no freeze."""
    assert Restraints(None, []) == await store.restraints("web-h5", "prod")


async def test_the_lock_and_the_freezes_in_force_are_read(store: RedisStore) -> None:
    """The lock, the freeze of all services, then the service's own: what the separate reads
    (lock_of, chat_freezes) give."""
    lock, everything, own = a_lock(), a_freeze(ALL), a_freeze()
    await store.take_lock(lock)
    await store.set_freeze(everything)
    await store.set_freeze(own)
    restraints = await store.restraints("web-h5", "prod")
    assert Restraints(lock, [everything, own]) == restraints
    separately = await store.lock_of("web-h5", "prod"), await store.chat_freezes("prod", ["web-h5"])
    assert (restraints.lock, restraints.freezes) == separately


async def test_other_services_and_environments_do_not_restrain(store: RedisStore) -> None:
    """A freeze of another service, or of another environment, is not this one's."""
    await store.set_freeze(a_freeze("api"))
    await store.set_freeze(a_freeze(ALL, "staging"))
    assert Restraints(None, []) == await store.restraints("web-h5", "prod")


async def test_an_unrestrained_create_writes_nothing_under_a_lock_or_a_freeze(
    store: RedisStore,
) -> None:
    """Told to record only an unrestrained request (the ack path's one round trip), create
    answers RESTRAINED under a lock, a freeze of all services or the service's own, and
    writes nothing: no request, no audit entry, and no mark of the delivery, so the same
    delivery, judged and sent again, is recorded."""
    keys = Keys(store.prefix)
    restraints = (
        store.take_lock(a_lock()),
        store.set_freeze(a_freeze(ALL)),
        store.set_freeze(a_freeze()),
    )
    for restraint in restraints:
        await restraint
        before = await store.redis.xlen(keys.audit_inbox())
        answer = await store.create(request("d-held"), "delivery-1", unrestrained=True)
        assert RESTRAINED == answer
        assert 0 == await store.redis.exists(keys.req("d-held"), keys.seen("delivery-1"))
        assert before == await store.redis.xlen(keys.audit_inbox())
        assert isinstance(await store.create(request("d-held"), "delivery-1"), Created)
        await store.redis.flushdb()


async def test_an_unrestrained_create_records_a_free_environments_request(
    store: RedisStore,
) -> None:
    """With no lock and no chat freeze (another service's freeze does not count), the
    unrestrained create records the request in its one round trip."""
    await store.set_freeze(a_freeze("api"))
    created = await store.create(request("d-free"), "delivery-2", unrestrained=True)
    assert isinstance(created, Created)
    assert State.PENDING == created.state
