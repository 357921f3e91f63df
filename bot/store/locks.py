"""The store's locks and holds: one JSON value per lock or hold, which Redis expires by itself.

A lock is taken only when it is free or its holder takes it again, and released only by the
holder it names: both read and write under WATCH, so two people locking at once see one winner.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from bot.ports.locks import ALL, Hold, Lock, Locking, LockOutcome
from bot.store.base import StoreBase, translated

T = TypeVar("T")
_TRIES = 20  # WATCH retries when another writer raced us; each is one round trip


class LockStore(StoreBase):
    @translated
    async def take_lock(self, lock: Lock) -> Locking:
        """``lock`` when the environment is free (LOCKED) or already its holder's (RENEWED:
        new reason and expiry, first ``since`` kept); else the other's lock (TAKEN)."""
        key = self.key.lock(lock.service, lock.environment)
        ttl = _millis(lock.until - lock.since)

        async def attempt(pipe: Pipeline) -> Locking:
            held = lock_from(await pipe.get(key))
            if held is not None and held.holder != lock.holder:
                return Locking(LockOutcome.TAKEN, held)
            taken = lock if held is None else dataclasses.replace(lock, since=held.since)
            pipe.multi()
            pipe.set(key, _dumped(taken), px=ttl)
            await pipe.execute()
            return Locking(LockOutcome.LOCKED if held is None else LockOutcome.RENEWED, taken)

        return await self._watching(key, attempt)

    @translated
    async def lock_of(self, service: str, environment: str) -> Lock | None:
        return lock_from(await self.redis.get(self.key.lock(service, environment)))

    @translated
    async def release_lock(self, service: str, environment: str, holder: str) -> Lock | None:
        """End the lock if ``holder`` holds it; the lock that ended, or None (nothing ended)."""
        key = self.key.lock(service, environment)

        async def attempt(pipe: Pipeline) -> Lock | None:
            held = lock_from(await pipe.get(key))
            if held is None or held.holder != holder:
                return None
            pipe.multi()
            pipe.delete(key)
            await pipe.execute()
            return held

        return await self._watching(key, attempt)

    @translated
    async def put_hold(self, hold: Hold) -> None:
        """Hold the data centre (replacing a hold already there) until ``hold.until``."""
        key = self.key.hold(hold.service, hold.environment, hold.datacenter)
        await self.redis.set(key, _dumped(hold), px=_millis(hold.until - hold.since))

    @translated
    async def holds_at(self, service: str, environment: str, datacenter: str) -> list[Hold]:
        """The holds in force on one service's data centre: its own, then one of all services."""
        keys = [self.key.hold(s, environment, datacenter) for s in (service, ALL)]
        return [Hold(**json.loads(raw)) for raw in await self.redis.mget(keys) if raw]

    @translated
    async def release_hold(self, service: str, environment: str, datacenter: str) -> Hold | None:
        """End the hold (``service`` may be ALL); the hold that ended, or None."""
        raw = await self.redis.getdel(self.key.hold(service, environment, datacenter))
        return Hold(**json.loads(raw)) if raw else None

    async def _watching(self, key: str, attempt: Callable[[Pipeline], Awaitable[T]]) -> T:
        """``attempt`` under WATCH ``key``, again while another writer changes it meanwhile."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(_TRIES):
                try:
                    await pipe.watch(key)
                    return await attempt(pipe)
                except WatchError:
                    continue
                finally:
                    await pipe.reset()
        raise WatchError(f"{key} kept changing")


def lock_from(raw: str | None) -> Lock | None:
    """A lock as stored (JSON), None for none."""
    return Lock(**json.loads(raw)) if raw else None


def _dumped(value: Lock | Hold) -> str:
    return json.dumps(dataclasses.asdict(value))


def _millis(seconds: float) -> int:
    return max(1, round(seconds * 1000))
