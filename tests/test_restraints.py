"""What may hold a new request back, read in one round trip: the environment's lock and the
chat freezes in force there (real redis-server)."""

from __future__ import annotations

import time

from bot.ports.freezes import ALL, ChatFreeze
from bot.ports.governance_store import Restraints
from bot.store.requests import RedisStore
from tests.test_locks_store import a_lock


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
