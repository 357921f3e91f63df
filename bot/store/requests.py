"""shipbot's memory in Redis: deploy requests and their atomic transitions.

Key names live in :mod:`bot.store.keys`. The store is composed of parts: the transitions and
reads of requests here, what runs where and what ran in :mod:`bot.store.history`, and
short-lived signals (wake-ups, stops, caches) in :mod:`bot.store.signals`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from bot.models import Created, DeployRequest, State, Workers
from bot.ports.store import StoreUnavailable
from bot.store import lua
from bot.store.base import translated
from bot.store.history import HistoryStore
from bot.store.keys import Keys
from bot.store.signals import WORKER_GONE_AFTER, SignalStore, stop_topic

__all__ = ["RedisStore", "StoreUnavailable", "connect"]

LEASE_SECONDS = 90  # default; a running deploy's worker renews its lease 4 times within it
LEASE_GRACE_SECONDS = 5.0  # a lapsed lease is trusted lost once it stayed lapsed this long
_NOT_STORED = {"steps", "approvers", "queued_behind"}


def connect(url: str) -> aioredis.Redis:
    """A client that fails fast when Redis is down and reconnects by itself when it is back."""
    return aioredis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=0.5,
        socket_timeout=2.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
        health_check_interval=15,
    )


class RedisStore(HistoryStore, SignalStore):
    """The store (see :mod:`bot.ports.store`) in Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = "shipbot",
        lease_seconds: int = LEASE_SECONDS,
        lease_grace: float = LEASE_GRACE_SECONDS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.key = Keys(prefix)
        self.lease_seconds, self.lease_grace = lease_seconds, lease_grace
        self._create = redis.register_script(lua.CREATE)
        self._approve = redis.register_script(lua.APPROVE)
        self._end = redis.register_script(lua.END)
        self._claim = redis.register_script(lua.CLAIM)
        self._finish = redis.register_script(lua.FINISH)
        self._expire = redis.register_script(lua.EXPIRE)
        self._renew = redis.register_script(lua.RENEW)
        self._rolled_back = redis.register_script(lua.ROLLED_BACK)
        self._stop = redis.register_script(lua.STOP)

    def _req_keys(self, request: DeployRequest | str) -> tuple[str, str]:
        rid = request if isinstance(request, str) else request.id
        return self.key.req(rid), self.key.audit()

    def _lane(self, r: DeployRequest) -> str:
        return self.key.lane(r.service, r.environment)

    def _undone(self, r: DeployRequest) -> str:
        return self.key.undone(r.service, r.environment)

    # health ------------------------------------------------------------------
    @translated
    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # transitions -------------------------------------------------------------
    @translated
    async def create(self, r: DeployRequest, delivery: str = "") -> Created | None:
        """Store a new request; with no approvals needed it is queued at once. Also says which
        workers are alive, so the person can be told when none is.

        ``delivery`` identifies the Slack delivery (see :func:`delivery_key`); the same
        delivery seen again within SEEN_TTL changes nothing and gives None.
        """
        keys = [*self._req_keys(r), self._lane(r), self.key.open(r.service), self.key.workers()]
        args = [r.requester, r.created_at, r.id, WORKER_GONE_AFTER, *_flatten(r)]
        result = await self._create([*keys, self.key.seen(delivery)], args)
        if result[0] == "replay":
            return None
        state, head, ahead, alive, newest = result
        workers = Workers(int(alive), float(newest) if newest else None)
        return Created(State(state), head, ahead, workers)

    @translated
    async def approve(self, r: DeployRequest, user: str, delivery: str = "") -> list[str]:
        keys = [*self._req_keys(r), self.key.approvers(r.id), self._lane(r)]
        keys += [self.key.open(r.service), self.key.seen(delivery)]
        return await self._approve(keys, [user, time.time()])

    @translated
    async def end(
        self,
        r: DeployRequest,
        user: str,
        state: State,
        delivery: str = "",
        *,
        queued_too: bool = False,
    ) -> list[str]:
        """Reject or cancel a pending request: a cancel only by its requester. With
        ``queued_too`` (the caller checked the user may), a queued request is cancelled too
        and leaves its lane. Ended: ['ended', the lane's new head to start or '', the request
        that was just behind it or '']."""
        only_requester = "1" if state is State.CANCELLED else "0"
        keys = [*self._req_keys(r), self.key.open(r.service), self._lane(r)]
        queued = "1" if queued_too else "0"
        args: list[str | float] = [user, time.time(), state.value, only_requester, queued]
        result = await self._end([*keys, self.key.seen(delivery)], args)
        await self._forget_approvers(r)
        return result

    @translated
    async def expire(self, r: DeployRequest, actor: str) -> list[str]:
        """End a pending request whose approval window has passed."""
        keys = [*self._req_keys(r), self.key.open(r.service)]
        result = await self._expire(keys, [actor, time.time()])
        await self._forget_approvers(r)
        return result

    @translated
    async def request_stop(self, r: DeployRequest, user: str, delivery: str = "") -> list[str]:
        """Ask the worker running ``r`` to stop it; ['stopping'] when this asked first."""
        keys = [*self._req_keys(r), self.key.seen(delivery)]
        result = await self._stop(keys, [user, time.time()])
        if result[0] == "stopping":
            await self.tell(stop_topic(r.id))
        return result

    @translated
    async def claim(self, r: DeployRequest, worker: str) -> list[str]:
        """Start running r if it heads its lane; the worker then holds a lease on it."""
        keys = [*self._req_keys(r), self._lane(r), self.key.lease(r.id), self.key.running()]
        return await self._claim(keys, [worker, time.time(), self.lease_seconds])

    @translated
    async def renew_lease(self, request_id: str, worker: str) -> bool:
        """Extend the worker's lease; False when the request is no longer its to run."""
        keys = [self.key.req(request_id), self.key.lease(request_id)]
        return await self._renew(keys, [worker, self.lease_seconds]) == "held"

    @translated
    async def orphans(self) -> list[str]:
        """Running requests whose lease lapsed at least LEASE_GRACE_SECONDS ago (as first
        seen by this check): their worker is gone.

        The grace gives a worker that was cut off from Redis a last chance to renew before
        anyone ends its deploy; a lease renewed meanwhile clears the suspicion.
        """
        orphans, now = [], await self._now()  # Redis's clock: sweepers' clocks may differ
        for rid in sorted(await self.redis.smembers(self.key.running())):
            suspect = self.key.suspect(rid)
            if await self.redis.exists(self.key.lease(rid)):
                await self.redis.delete(suspect)
            elif await self.redis.set(suspect, now, nx=True, ex=10 * self.lease_seconds):
                continue  # first seen lapsed just now
            elif now - float(await self.redis.get(suspect) or now) >= self.lease_grace:
                orphans.append(rid)
        return orphans

    @translated
    async def finish(self, r: DeployRequest, worker: str, state: State, why: str) -> list[str]:
        keys = [*self._req_keys(r), self._lane(r), self.key.open(r.service)]
        keys += [self.key.lease(r.id), self.key.running()]
        result = await self._finish(keys, [worker, time.time(), state.value, why])
        await self._forget_approvers(r)
        return result

    async def _forget_approvers(self, r: DeployRequest) -> None:
        """Approvers of an ended request go when the request does (its hash expires in Lua)."""
        await self.redis.expire(self.key.approvers(r.id), lua.ENDED_TTL)

    @translated
    async def mark_rolled_back(self, rollback: DeployRequest) -> None:
        """The release ``rollback`` undid is rolled back: in its record and in history."""
        keys = [*self._req_keys(rollback.undoes), self._undone(rollback)]
        await self._rolled_back(keys, [rollback.requester, time.time(), rollback.id])

    # reads and small writes ----------------------------------------------------
    @translated
    async def get(self, request_id: str) -> DeployRequest | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.key.req(request_id))
            pipe.zrange(self.key.approvers(request_id), 0, -1)
            fields, approvers = await pipe.execute()
        if not fields:
            return None
        fields["steps"] = json.loads(fields.get("steps") or "[]")
        request = DeployRequest.model_validate({**fields, "approvers": approvers})
        if request.state is State.QUEUED:
            request.queued_behind = _ahead_of(request.id, await self.lane_of(request))
        return request

    @translated
    async def save_steps(self, r: DeployRequest) -> None:
        steps = json.dumps([s.model_dump(mode="json") for s in r.steps])
        await self.redis.hset(self.key.req(r.id), "steps", steps)

    @translated
    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        mapping = {"card_channel": channel, "card_ts": ts}
        await self.redis.hset(self.key.req(request_id), mapping=mapping)

    async def lane_of(self, r: DeployRequest) -> list[str]:
        """The queued and running requests of r's service+environment, first one running."""
        return await self.lane(r.service, r.environment)

    @translated
    async def lane(self, service: str, environment: str) -> list[str]:
        """The queued and running requests of a service+environment, first one running."""
        return await self.redis.lrange(self.key.lane(service, environment), 0, -1)

    @translated
    async def open_requests(self, service: str) -> list[DeployRequest]:
        ids = await self.redis.zrange(self.key.open(service), 0, -1)
        found = [await self.get(rid) for rid in ids]
        return [r for r in found if r is not None]


def _ahead_of(request_id: str, lane: list[str]) -> str:
    position = lane.index(request_id) if request_id in lane else 0
    return lane[position - 1] if position > 0 else ""


def _flatten(r: DeployRequest) -> list[Any]:
    """Field/value pairs for HSET; steps as JSON, approvers live in their own key."""
    data = r.model_dump(mode="json", exclude=_NOT_STORED)
    data["steps"] = json.dumps([s.model_dump(mode="json") for s in r.steps])
    return [item for pair in data.items() for item in pair]
