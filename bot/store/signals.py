"""The store's short-lived signals: wake-ups across processes, stop requests, group cache."""

from __future__ import annotations

import asyncio
import json
import time

from redis.exceptions import RedisError

from bot.models import Workers
from bot.store.base import StoreBase, translated

GROUP_TTL = 300
NEWS_TTL = 600
STOP_POLL_SECONDS = 5  # a stop is seen at once when told, else within this
HEARTBEAT_SECONDS = 10  # a worker says it is alive this often
WORKER_GONE_AFTER = 45  # a worker not heard from for this long is presumed gone
WORKERS_FORGOTTEN_AFTER = 7 * 86400  # a gone worker's last heartbeat is kept this long


def stop_topic(request_id: str) -> str:
    """What a worker running ``request_id`` listens on for a stop."""
    return f"stop:{request_id}"


class SignalStore(StoreBase):
    @translated
    async def tell(self, topic: str) -> None:
        """Wake whoever `listen`s on ``topic``, in any process (at most one wake is kept)."""
        key = self.key.news(topic)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, 1)
            pipe.ltrim(key, 0, 0)
            pipe.expire(key, NEWS_TTL)
            await pipe.execute()

    async def listen(self, topic: str, seconds: float) -> bool:
        """True as soon as ``topic`` is told; False after ``seconds`` without news, or when
        Redis fails (having waited them out all the same): it never raises for Redis."""
        key, deadline = self.key.news(topic), time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:  # short blocks: the client's socket timeout is 2 s, and 0 would block forever
                if await self.redis.execute_command("BLPOP", key, max(0.01, min(left, 1.0))):
                    return True
            except RedisError:
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                return False
        return False

    async def stopped_by(self, request_id: str) -> str:
        """Who asked to stop the request; "" when nobody has, or Redis can't say now."""
        try:
            return str(await self.redis.hget(self.key.req(request_id), "stop_requested_by") or "")
        except RedisError:
            return ""

    async def wait_stop(self, request_id: str) -> str:
        """Return who asked to stop the request, once someone has; Redis blips only delay it."""
        while not (who := await self.stopped_by(request_id)):
            await self.listen(stop_topic(request_id), STOP_POLL_SECONDS)
        return who

    @translated
    async def heartbeat(self, worker: str, jobs: int = 0) -> None:
        """``worker`` is alive now, running ``jobs`` jobs. Workers gone for long are forgotten."""
        now, workers, running = await self._now(), self.key.workers(), self.key.worker_jobs()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrangebyscore(workers, "-inf", now - WORKERS_FORGOTTEN_AFTER)
            pipe.zremrangebyscore(workers, "-inf", now - WORKERS_FORGOTTEN_AFTER)
            pipe.zadd(workers, {worker: now})
            pipe.hset(running, worker, str(jobs))
            forgotten, *_ = await pipe.execute()
        if forgotten:
            await self.redis.hdel(running, *forgotten)

    @translated
    async def workers(self) -> Workers:
        """How many workers are alive, and when the newest heartbeat came."""
        since = await self._now() - WORKER_GONE_AFTER
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcount(self.key.workers(), since, "+inf")
            pipe.zrevrange(self.key.workers(), 0, 0, withscores=True)
            alive, newest = await pipe.execute()
        return Workers(int(alive), float(newest[0][1]) if newest else None)

    @translated
    async def cached_group(self, group: str) -> set[str] | None:
        members = await self.redis.get(self.key.group(group))
        return None if members is None else set(json.loads(members))

    @translated
    async def cached_groups(self, groups: list[str]) -> dict[str, set[str]]:
        """The members of those of ``groups`` cached now, in one round trip."""
        if not groups:
            return {}
        found = await self.redis.mget([self.key.group(group) for group in groups])
        return {g: set(json.loads(m)) for g, m in zip(groups, found, strict=True) if m is not None}

    @translated
    async def cache_group(self, group: str, members: set[str]) -> None:
        await self.redis.set(self.key.group(group), json.dumps(sorted(members)), ex=GROUP_TTL)
