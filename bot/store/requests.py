"""shipbot's memory in Redis: deploy requests and their atomic transitions.

Key names live in :mod:`bot.store.keys`. The store is composed of parts: the transitions and
reads of requests here, what runs where and what ran in :mod:`bot.store.history`, and
short-lived signals (wake-ups, stops, caches) in :mod:`bot.store.signals`, lease renewals and
the workers' figures in :mod:`bot.store.worker_figures`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis import asyncio as aioredis

from bot.machine import Event
from bot.models import Changelog, Created, DeployRequest, Restrained, State
from bot.ports.freezes import ALL
from bot.ports.notify import Handover
from bot.ports.store import (
    Approval,
    Claim,
    Ended,
    ExpireOutcome,
    Finished,
    FinishRecord,
    StopAsked,
    StopOutcome,
    StoreUnavailable,
)
from bot.store import answers, scripts
from bot.store.base import translated
from bot.store.connection import connect
from bot.store.freezes import FreezeStore
from bot.store.history import HistoryStore, rejected_entry
from bot.store.keys import Keys
from bot.store.locks import LockStore
from bot.store.metrics import metrics_arg
from bot.store.multiplexing import Multiplexer
from bot.store.scripts import Loaded, Script
from bot.store.signals import WORKER_GONE_AFTER, stop_topic
from bot.store.worker_figures import WorkerFiguresStore

__all__ = ["RedisStore", "StoreUnavailable", "connect"]

LEASE_SECONDS = 90  # default; a running deploy's worker renews its lease 4 times within it
LEASE_GRACE_SECONDS = 5.0  # a lapsed lease is trusted lost once it stayed lapsed this long
_NOT_STORED = {"steps", "approvers", "queued_behind", "state", "changelog", "rules", "assigned"}


class RedisStore(FreezeStore, HistoryStore, LockStore, WorkerFiguresStore):
    """The store (see :mod:`bot.ports.store`) in Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = "shipbot",
        lease_seconds: int = LEASE_SECONDS,
        lease_grace: float = LEASE_GRACE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.clock = clock  # the time transitions record and compare expiries with
        self.prefix = prefix
        self.key = Keys(prefix)
        self.lease_seconds, self.lease_grace = lease_seconds, lease_grace
        lines = Multiplexer(redis)  # the scripts share a connection (multiplexing.py)
        self.scripts = {script.name: Loaded(redis, script, lines) for script in scripts.SCRIPTS}

    def _keys(self, r: DeployRequest, script: Script, delivery: str = "") -> dict[str, str]:
        """The keys ``script`` names, for request r (see bot/store/scripts.py)."""
        k, where = self.key, (r.service, r.environment)
        every = {
            "req": k.req(r.id), "approvers": k.approvers(r.id),
            "lane": k.lane(*where), "open": k.open(r.service), "workers": k.workers(),
            "seen": k.seen(delivery), "lease": k.lease(r.id), "running": k.running(),
            "urgent": k.urgent(*where), "audit_inbox": k.audit_inbox(),
            "history": k.history(*where), "undone": k.undone(*where),
            "undone_req": k.req(r.undoes) if r.undoes else "",
            "rejected": k.rejected(*where), "lock": k.lock(*where),
            "freeze_all": k.freeze(ALL, r.environment), "freeze_service": k.freeze(*where),
        }  # fmt: skip
        return {name: every[name] for name in script.keys if name in every}

    async def _run(self, script: Script, r: DeployRequest, delivery: str = "", **args: Any) -> Any:
        """Run ``script`` on request r with the arguments it names."""
        return await self.scripts[script.name](self._keys(r, script, delivery), args)

    # health ------------------------------------------------------------------
    @translated
    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # transitions (bot/machine.py lists them) -----------------------------------
    @translated
    async def create(
        self,
        r: DeployRequest,
        delivery: str = "",
        jobs: Handover | None = None,
        *,
        unrestrained: bool = False,
    ) -> Created | Restrained | None:
        """Store a new request; with no approvals needed it is queued at once. Also says which
        workers are alive, so the person can be told when none is. With ``jobs`` (from the
        queue, which must use this Redis), the request's job is written in the same step.
        With ``unrestrained``, it is stored only if its environment has no lock and no chat
        freeze; else nothing is written and the answer is RESTRAINED.

        ``delivery`` identifies the Slack delivery (see :func:`delivery_key`); the same
        delivery seen again within SEEN_TTL changes nothing and gives None.
        """
        keys = self._keys(r, scripts.CREATE, delivery) | _job_keys(jobs)
        args = {
            "actor": r.requester, "now": r.created_at, "id": r.id,
            "gone_after": WORKER_GONE_AFTER, "fields": _fields(r),
            "unrestrained": "1" if unrestrained else "", **_job_args(jobs),
        }  # fmt: skip
        return answers.created(await self.scripts[scripts.CREATE.name](keys, args))

    @translated
    async def approve(
        self, r: DeployRequest, user: str, delivery: str = "", *, eligible: Sequence[int]
    ) -> Approval:
        """Count ``user``'s approval for one of the rules they are ``eligible`` for (indices
        into ``r.rules``; none: it counts for nothing); once every rule is met it is queued
        (see approve.lua; an emergency ahead of what does not run yet: enqueue)."""
        raw = await self._run(
            scripts.APPROVE, r, delivery, actor=user, now=self.clock(),
            eligible=json.dumps(list(eligible)),
        )  # fmt: skip
        return answers.decode(raw, Approval)

    @translated
    async def end(
        self, r: DeployRequest, user: str, state: State, delivery: str = "", *,
        queued_too: bool = False, reason: str = "",
    ) -> Ended:  # fmt: skip
        """Reject or cancel a pending request: a cancel only by its requester. With
        ``queued_too`` (the caller checked the user may), a queued request is cancelled too
        and leaves its lane. A rejection records ``reason`` on the request, in the audit
        trail, and in the rejected list that /shipbot history reads."""
        event = Event.REJECT if state is State.REJECTED else Event.CANCEL
        now = self.clock()
        raw = await self._run(
            scripts.END, r, delivery, actor=user, now=now, event=event.value,
            queued_too="1" if queued_too else "0", reason=reason,
            entry=rejected_entry(r, user, reason, now).model_dump_json(),
        )  # fmt: skip
        return answers.decode(raw, Ended)

    @translated
    async def expire(self, r: DeployRequest, actor: str) -> ExpireOutcome:
        """End a pending request whose approval window has passed."""
        raw = await self._run(scripts.EXPIRE, r, actor=actor, now=self.clock())
        return answers.outcome(raw, ExpireOutcome)

    @translated
    async def request_stop(self, r: DeployRequest, user: str, delivery: str = "") -> StopAsked:
        """Ask the worker running ``r`` to stop it (STOPPING when this asked first)."""
        raw = await self._run(scripts.STOP, r, delivery, actor=user, now=self.clock())
        asked = answers.decode(raw, StopAsked)
        if asked.outcome is StopOutcome.STOPPING:
            await self.tell(stop_topic(r.id))
        return asked

    @translated
    async def claim(self, r: DeployRequest, worker: str, attempt: str = "") -> Claim:
        """Start running r if it heads its lane; the worker then holds a lease on it. The same
        ``attempt`` again (a retry whose answer was lost) is answered RUNNING again."""
        raw = await self._run(
            scripts.CLAIM, r, actor=worker, now=self.clock(), lease_seconds=self.lease_seconds,
            attempt=attempt,
        )  # fmt: skip
        return answers.decode(raw, Claim)

    @translated
    async def finish(self, record: FinishRecord) -> Finished:
        """The claiming worker ends its run, in one idempotent step (see finish.lua)."""
        event = Event.SUCCEED if record.state is State.SUCCEEDED else Event.FAIL
        event = Event.VOID if record.voided else event
        return await self._finish(record, event)

    @translated
    async def finish_orphan(self, record: FinishRecord) -> Finished:
        """The sweep (``record.worker``) ends a run whose worker is gone, as failed."""
        return await self._finish(record, Event.ORPHAN)

    async def _finish(self, record: FinishRecord, event: Event) -> Finished:
        r, entry, mark = record.request, record.history, record.mark
        keys = self._keys(r, scripts.FINISH) | self.metric_keys(r.service, r.environment, mark)
        args = {
            "actor": record.worker, "now": self.clock(), "event": event.value,
            "failure": record.failure, "detail": record.audit_detail or record.failure,
            "steps": _steps(r), "entry": entry.model_dump_json(),
            "undoes": r.undoes, "undoer": r.requester, "metrics": metrics_arg(entry, mark),
        }  # fmt: skip
        raw = await self.scripts[scripts.FINISH.name](keys, args)
        return answers.decode(raw, Finished)

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
        fields["changelog"] = json.loads(fields.get("changelog") or "null")
        fields["rules"] = json.loads(fields.get("rules") or "[]")
        fields["assigned"] = json.loads(fields.get("assigned") or "{}")
        fields.pop("eligible", None)
        request = DeployRequest.model_validate({**fields, "approvers": approvers})
        if request.state is State.QUEUED:
            request.queued_behind = _ahead_of(request.id, await self.lane_of(request))
        return request

    @translated
    async def save_steps(self, r: DeployRequest) -> None:
        await self.redis.hset(self.key.req(r.id), "steps", _steps(r))

    @translated
    async def set_card(self, request_id: str, channel: str, ts: str) -> None:
        mapping = {"card_channel": channel, "card_ts": ts}
        await self.redis.hset(self.key.req(request_id), mapping=mapping)

    @translated
    async def set_changelog(self, request_id: str, changelog: Changelog) -> None:
        await self.redis.hset(self.key.req(request_id), "changelog", changelog.model_dump_json())

    @translated
    async def set_commit(self, request_id: str, sha: str, note: str, url: str = "") -> None:
        """The commit its version's tag named (or why it could not be told)."""
        mapping = {"commit_sha": sha, "commit_note": note, "commit_url": url}
        await self.redis.hset(self.key.req(request_id), mapping=mapping)

    @translated
    async def set_note(self, request_id: str, channel: str, ts: str) -> None:
        mapping = {"note_channel": channel, "note_ts": ts}
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


def _job_keys(jobs: Handover | None) -> dict[str, str]:
    if jobs is None:
        return dict.fromkeys(scripts.JOB_KEYS, "")
    announce, start = jobs.announce, jobs.start
    return {
        "jobs": announce.queue, "announce_job": announce.key,
        "announce_result": announce.result_key, "start_job": start.key,
        "start_result": start.result_key,
    }  # fmt: skip


def _job_args(jobs: Handover | None) -> dict[str, Any]:
    if jobs is None:
        return dict.fromkeys(scripts.JOB_ARGS, "")
    announce, start = jobs.announce, jobs.start
    return {
        "announce_id": announce.id, "announce_data": announce.data, "start_id": start.id,
        "start_data": start.data, "run_at": announce.run_at_ms, "job_expires": announce.expires_ms,
    }  # fmt: skip


def _ahead_of(request_id: str, lane: list[str]) -> str:
    position = lane.index(request_id) if request_id in lane else 0
    return lane[position - 1] if position > 0 else ""


def _fields(r: DeployRequest) -> str:
    """The request's fields as one JSON object of strings, for HSET: each value as redis-py
    would send it alone (True is 1, a float its repr); steps and rules as JSON, approvers live
    in their own key, and the state is the transitions' to set."""
    data = r.model_dump(mode="json", exclude=_NOT_STORED)
    data = {k: _redis_text(v) for k, v in data.items()}
    data["steps"] = _steps(r)
    data["rules"] = json.dumps([rule.model_dump(mode="json") for rule in r.rules])
    return json.dumps(data, ensure_ascii=False)


def _redis_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else repr(value)


def _steps(r: DeployRequest) -> str:
    return json.dumps([step.model_dump(mode="json") for step in r.steps])
