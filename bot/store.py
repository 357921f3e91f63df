"""shipbot's memory in Redis. The only module that knows key names.

Keys (all under one prefix, default ``shipbot``):

- ``req:{id}`` hash, one deploy request; ``req:{id}:approvers`` sorted set (by time)
- ``lane:{service}:{env}`` list of queued and running request ids; the head runs
- ``open:{service}`` sorted set of open (pending, queued, running) request ids
- ``history:{service}:{env}`` list of finished deploys, newest first, capped
- ``current:{service}:{env}`` hash, data centre -> what runs there
- ``undone:{service}:{env}`` set of request ids whose releases a rollback undid
- ``running`` set of running request ids; ``lease:{id}`` says its worker is alive (TTL);
  ``suspect:{id}`` marks a lapsed lease seen once by the sweep
- ``audit`` stream, append-only, every transition
- ``seen:{delivery}`` short-lived marks that make Slack retries and replays take effect once
- ``group:{id}`` short-lived cache of a Slack user group's members
- ``news:{topic}`` a one-item list a webhook pushes to wake whoever follows ``topic``
- ``external:{id}`` marks a deployment run outside shipbot as recorded (once)
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from redis import asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from bot import lua
from bot.models import AuditEvent, Deployed, DeployRequest, HistoryEntry, State

HISTORY_KEEP = 1000
GROUP_TTL = 300
NEWS_TTL = 600
STOP_POLL_SECONDS = 5  # a stop is seen at once when told, else within this
EXTERNAL_TTL = 30 * 86400
LEASE_SECONDS = 90  # default; a running deploy's worker renews its lease 4 times within it
_NOT_STORED = {"steps", "approvers", "queued_behind"}

P = ParamSpec("P")
T = TypeVar("T")


class StoreUnavailable(Exception):
    """Redis could not be reached or answered with an error; nothing was changed by us."""


def _translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except RedisError as error:
            raise StoreUnavailable(type(error).__name__) from None

    return wrapper


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


class Store:
    def __init__(
        self, redis: aioredis.Redis, prefix: str = "shipbot", lease_seconds: int = LEASE_SECONDS
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self._create = redis.register_script(lua.CREATE)
        self._approve = redis.register_script(lua.APPROVE)
        self._end_pending = redis.register_script(lua.END_PENDING)
        self._claim = redis.register_script(lua.CLAIM)
        self._finish = redis.register_script(lua.FINISH)
        self._expire = redis.register_script(lua.EXPIRE)
        self._renew = redis.register_script(lua.RENEW)
        self._rolled_back = redis.register_script(lua.ROLLED_BACK)
        self._stop = redis.register_script(lua.STOP)

    # key names ---------------------------------------------------------------
    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _req_keys(self, request: DeployRequest | str) -> tuple[str, str]:
        rid = request if isinstance(request, str) else request.id
        return self._k("req", rid), self._k("audit")

    def _lane(self, r: DeployRequest) -> str:
        return self._k("lane", r.service, r.environment)

    def _seen(self, delivery: str) -> str:
        return self._k("seen", delivery) if delivery else ""

    # health ------------------------------------------------------------------
    @_translated
    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # requests ----------------------------------------------------------------
    @_translated
    async def create(self, r: DeployRequest, delivery: str = "") -> list[str]:
        """Store a new request; with no approvals needed it is queued at once.

        ``delivery`` identifies the Slack delivery (see :func:`delivery_key`); the same
        delivery seen again within SEEN_TTL is answered ``['replay']`` and changes nothing.
        """
        keys = [*self._req_keys(r), self._lane(r), self._k("open", r.service)]
        args = [r.requester, r.created_at, r.id, *_flatten(r)]
        return await self._create([*keys, self._seen(delivery)], args)

    @_translated
    async def approve(self, r: DeployRequest, user: str, delivery: str = "") -> list[str]:
        keys = [*self._req_keys(r), self._k("req", r.id, "approvers"), self._lane(r)]
        keys += [self._k("open", r.service), self._seen(delivery)]
        return await self._approve(keys, [user, time.time()])

    @_translated
    async def end_pending(
        self, r: DeployRequest, user: str, state: State, delivery: str = ""
    ) -> list[str]:
        """Reject (anyone allowed) or cancel (the requester only) a pending request."""
        only_requester = "1" if state is State.CANCELLED else "0"
        keys = [*self._req_keys(r), self._k("open", r.service), self._seen(delivery)]
        result = await self._end_pending(keys, [user, time.time(), state.value, only_requester])
        await self._forget_approvers(r)
        return result

    @_translated
    async def expire(self, r: DeployRequest, actor: str) -> list[str]:
        """End a pending request whose approval window has passed."""
        keys = [*self._req_keys(r), self._k("open", r.service)]
        result = await self._expire(keys, [actor, time.time()])
        await self._forget_approvers(r)
        return result

    @_translated
    async def request_stop(self, r: DeployRequest, user: str, delivery: str = "") -> list[str]:
        """Ask the worker running ``r`` to stop it; ['stopping'] when this asked first."""
        keys = [*self._req_keys(r), self._seen(delivery)]
        result = await self._stop(keys, [user, time.time()])
        if result[0] == "stopping":
            await self.tell(f"stop:{r.id}")
        return result

    async def wait_stop(self, request_id: str) -> str:
        """Return who asked to stop the request, once someone has; Redis blips only delay it."""
        while True:
            try:
                who = await self.redis.hget(self._k("req", request_id), "stop_requested_by")
            except RedisError:
                who = None
            if who:
                return str(who)
            await self.listen(f"stop:{request_id}", STOP_POLL_SECONDS)

    @_translated
    async def claim(self, r: DeployRequest, worker: str) -> list[str]:
        """Start running r if it heads its lane; the worker then holds a lease on it."""
        keys = [*self._req_keys(r), self._lane(r), self._k("lease", r.id), self._k("running")]
        return await self._claim(keys, [worker, time.time(), self.lease_seconds])

    @_translated
    async def renew_lease(self, request_id: str, worker: str) -> bool:
        """Extend the worker's lease; False when the request is no longer its to run."""
        keys = [self._k("req", request_id), self._k("lease", request_id)]
        return await self._renew(keys, [worker, self.lease_seconds]) == "held"

    @_translated
    async def orphans(self) -> list[str]:
        """Running requests whose lease was found lapsed twice in a row: their worker is gone.

        The first sighting only marks a suspect, which gives a worker that was cut off from
        Redis for a while the time to renew before anyone ends its deploy.
        """
        orphans = []
        for rid in sorted(await self.redis.smembers(self._k("running"))):
            suspect = self._k("suspect", rid)
            if await self.redis.exists(self._k("lease", rid)):
                await self.redis.delete(suspect)
            elif not await self.redis.set(suspect, "1", nx=True, ex=10 * self.lease_seconds):
                orphans.append(rid)
        return orphans

    @_translated
    async def finish(self, r: DeployRequest, worker: str, state: State, why: str) -> list[str]:
        keys = [*self._req_keys(r), self._lane(r), self._k("open", r.service)]
        keys += [self._k("lease", r.id), self._k("running")]
        result = await self._finish(keys, [worker, time.time(), state.value, why])
        await self._forget_approvers(r)
        return result

    async def _forget_approvers(self, r: DeployRequest) -> None:
        """Approvers of an ended request go when the request does (its hash expires in Lua)."""
        await self.redis.expire(self._k("req", r.id, "approvers"), lua.ENDED_TTL)

    @_translated
    async def get(self, request_id: str) -> DeployRequest | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._k("req", request_id))
            pipe.zrange(self._k("req", request_id, "approvers"), 0, -1)
            fields, approvers = await pipe.execute()
        if not fields:
            return None
        fields["steps"] = json.loads(fields.get("steps") or "[]")
        request = DeployRequest.model_validate({**fields, "approvers": approvers})
        if request.state is State.QUEUED:
            request.queued_behind = _ahead_of(request.id, await self.lane_of(request))
        return request

    @_translated
    async def save_steps(self, r: DeployRequest) -> None:
        steps = json.dumps([s.model_dump(mode="json") for s in r.steps])
        await self.redis.hset(self._k("req", r.id), "steps", steps)

    @_translated
    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        mapping = {"card_channel": channel, "card_ts": ts}
        await self.redis.hset(self._k("req", request_id), mapping=mapping)

    @_translated
    async def lane_of(self, r: DeployRequest) -> list[str]:
        """The queued and running requests of r's service+environment, first one running."""
        return await self.redis.lrange(self._lane(r), 0, -1)

    @_translated
    async def open_requests(self, service: str) -> list[DeployRequest]:
        ids = await self.redis.zrange(self._k("open", service), 0, -1)
        found = [await self.get(rid) for rid in ids]
        return [r for r in found if r is not None]

    # history -------------------------------------------------------------------
    @_translated
    async def record_deployed(self, r: DeployRequest, target: str, version: str = "") -> None:
        """``target`` now runs ``version`` (default: the request's), put there by r."""
        deployed = Deployed(
            version=version or r.version, request_id=r.id, requester=r.requester, at=time.time()
        )
        key = self._k("current", r.service, r.environment)
        await self.redis.hset(key, target, deployed.model_dump_json())

    @_translated
    async def current(self, service: str, environment: str) -> dict[str, Deployed]:
        raw = await self.redis.hgetall(self._k("current", service, environment))
        return {dc: Deployed.model_validate_json(v) for dc, v in sorted(raw.items())}

    @_translated
    async def add_history(self, entry: HistoryEntry) -> None:
        key = self._k("history", entry.service, entry.environment)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, entry.model_dump_json())
            pipe.ltrim(key, 0, HISTORY_KEEP - 1)
            await pipe.execute()

    @_translated
    async def mark_rolled_back(self, rollback: DeployRequest) -> None:
        """The release ``rollback`` undid is rolled back: in its record and in history."""
        keys = [*self._req_keys(rollback.undoes), self._undone(rollback)]
        await self._rolled_back(keys, [rollback.id, time.time()])

    @_translated
    async def rolled_back(self, service: str, environment: str) -> set[str]:
        """Ids of the requests whose releases were undone by a rollback."""
        return set(await self.redis.smembers(self._k("undone", service, environment)))

    def _undone(self, r: DeployRequest) -> str:
        return self._k("undone", r.service, r.environment)

    @_translated
    async def history(self, service: str, environment: str, limit: int = 10) -> list[HistoryEntry]:
        raw = await self.redis.lrange(self._k("history", service, environment), 0, limit - 1)
        return [HistoryEntry.model_validate_json(item) for item in raw]

    @_translated
    async def record_external(self, entry: HistoryEntry, deployed: Deployed) -> bool:
        """A deploy run outside shipbot, into history, ``current`` and the audit trail, once
        per ``entry.request_id``; False when it was already recorded."""
        if not await self.redis.set(
            self._k("external", entry.request_id, entry.service, entry.environment),
            1,
            nx=True,
            ex=EXTERNAL_TTL,
        ):
            return False
        current = self._k("current", entry.service, entry.environment)
        detail = f"{entry.version} on {', '.join(t or entry.environment for t in entry.targets)}"
        event = AuditEvent(
            actor=entry.requester,
            event="deployed_outside_shipbot",
            request_id=entry.request_id,
            service=entry.service,
            environment=entry.environment,
            detail=detail,
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            for target in entry.targets:
                pipe.hset(current, target, deployed.model_dump_json())
            pipe.lpush(
                self._k("history", entry.service, entry.environment), entry.model_dump_json()
            )
            pipe.ltrim(self._k("history", entry.service, entry.environment), 0, HISTORY_KEEP - 1)
            pipe.xadd(self._k("audit"), {k: str(v) for k, v in event.model_dump().items()})
            await pipe.execute()
        return True

    # news ----------------------------------------------------------------------
    @_translated
    async def tell(self, topic: str) -> None:
        """Wake whoever `listen`s on ``topic``, in any process (at most one wake is kept)."""
        key = self._k("news", topic)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, 1)
            pipe.ltrim(key, 0, 0)
            pipe.expire(key, NEWS_TTL)
            await pipe.execute()

    async def listen(self, topic: str, seconds: float) -> None:
        """Return when ``topic`` is told, or after ``seconds``; never raises for Redis."""
        key, deadline = self._k("news", topic), time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:  # short blocks: the client's socket timeout is 2 s, and 0 would block forever
                if await self.redis.execute_command("BLPOP", key, max(0.01, min(left, 1.0))):
                    return
            except RedisError:
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                return

    # audit ---------------------------------------------------------------------
    @_translated
    async def audit_trail(self, count: int = 100) -> list[AuditEvent]:
        entries = await self.redis.xrevrange(self._k("audit"), count=count)
        return [AuditEvent.model_validate(fields) for _, fields in entries]

    # caches ------------------------------------------------------------------------
    @_translated
    async def cached_group(self, group: str) -> set[str] | None:
        members = await self.redis.get(self._k("group", group))
        return None if members is None else set(json.loads(members))

    @_translated
    async def cache_group(self, group: str, members: set[str]) -> None:
        await self.redis.set(self._k("group", group), json.dumps(sorted(members)), ex=GROUP_TTL)


def _ahead_of(request_id: str, lane: list[str]) -> str:
    position = lane.index(request_id) if request_id in lane else 0
    return lane[position - 1] if position > 0 else ""


def _flatten(r: DeployRequest) -> list[Any]:
    """Field/value pairs for HSET; steps as JSON, approvers live in their own key."""
    data = r.model_dump(mode="json", exclude=_NOT_STORED)
    data["steps"] = json.dumps([s.model_dump(mode="json") for s in r.steps])
    return [item for pair in data.items() for item in pair]
