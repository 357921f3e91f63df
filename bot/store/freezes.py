"""The store's chat freezes (`/shipbot freeze`): one hash per service (or ``all``) and
environment, expiring when the freeze ends; and the note on a queued request a freeze holds."""

from __future__ import annotations

import time
from dataclasses import asdict

from bot.ports.freezes import ALL, ChatFreeze
from bot.store.base import StoreBase, translated


class FreezeStore(StoreBase):
    @translated
    async def set_freeze(self, freeze: ChatFreeze) -> None:
        key = self.key.freeze(freeze.service, freeze.environment)
        fields = {k: str(v) for k, v in asdict(freeze).items()}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.expireat(key, int(freeze.until) + 1)
            await pipe.execute()

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
            found = [_freeze(fields) for fields in await pipe.execute()]
        now = time.time()
        return [f for f in found if f is not None and f.until > now]

    @translated
    async def set_waiting(self, request_id: str, waiting: str) -> None:
        key = self.key.req(request_id)
        if await self.redis.execute_command("EXISTS", key):
            await self.redis.execute_command("HSET", key, "waiting", waiting)


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
