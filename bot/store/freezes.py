"""The store's chat freezes (`/shipbot freeze`): one hash per service (or ``all``) and
environment, expiring when the freeze ends; and the note on a queued request a freeze holds."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import asdict
from typing import cast

from redis.exceptions import WatchError

from bot.ports.freezes import ALL, ChatFreeze
from bot.ports.governance_store import Restraints
from bot.store.base import StoreBase, translated
from bot.store.locks import lock_from

_TRIES = 20  # WATCH retries when another writer raced us


class FreezeStore(StoreBase):
    @translated
    async def set_freeze(self, freeze: ChatFreeze) -> ChatFreeze | None:
        """Keep ``freeze`` until its end, unless a freeze of the same service and environment
        ends no earlier (then that one is kept). The freeze found there, kept or replaced
        (None: none). Read and written under WATCH, so a shorter freeze never wins a race."""
        key = self.key.freeze(freeze.service, freeze.environment)
        fields = {k: str(v) for k, v in asdict(freeze).items()}
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(_TRIES):
                try:
                    await pipe.watch(key)
                    found = await cast(Awaitable[dict[str, str]], pipe.hgetall(key))
                    earlier = _in_force(_freeze(found))
                    if earlier is not None and earlier.until >= freeze.until:
                        return earlier
                    pipe.multi()
                    pipe.delete(key)
                    pipe.hset(key, mapping=fields)
                    pipe.expireat(key, int(freeze.until) + 1)
                    await pipe.execute()
                    return earlier
                except WatchError:
                    continue
                finally:
                    await pipe.reset()
        raise WatchError(f"{key} kept changing")

    @translated
    async def end_freeze(self, service: str, environment: str) -> ChatFreeze | None:
        key = self.key.freeze(service, environment)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            fields, _ = await pipe.execute()
        return _freeze(fields)

    @translated
    async def chat_freezes(self, environment: str, services: list[str]) -> list[ChatFreeze]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for service in (ALL, *services):
                pipe.hgetall(self.key.freeze(service, environment))
            return _in_force_now(await pipe.execute())

    @translated
    async def restraints(self, service: str, environment: str) -> Restraints:
        """The lock and the chat freezes, in one round trip (the ack path's one read)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.key.lock(service, environment))
            for owner in (ALL, service):
                pipe.hgetall(self.key.freeze(owner, environment))
            lock, *freezes = await pipe.execute()
        return Restraints(lock_from(lock), _in_force_now(freezes))

    @translated
    async def set_waiting(self, request_id: str, waiting: str) -> None:
        key = self.key.req(request_id)
        if await self.redis.execute_command("EXISTS", key):
            await self.redis.execute_command("HSET", key, "waiting", waiting)


def _in_force_now(found: list[dict[str, str]]) -> list[ChatFreeze]:
    now = time.time()
    return [f for f in map(_freeze, found) if f is not None and f.until > now]


def _in_force(freeze: ChatFreeze | None) -> ChatFreeze | None:
    return freeze if freeze is not None and freeze.until > time.time() else None


def _freeze(fields: dict[str, str]) -> ChatFreeze | None:
    if not fields:
        return None
    return ChatFreeze(
        service=fields["service"],
        environment=fields["environment"],
        reason=fields["reason"],
        by=fields["by"],
        since=float(fields["since"]),
        until=float(fields["until"]),
    )
