"""bench/load.py's clients and waits: the people asking and approving, over raw HTTP, and the
polls of Redis (through the store) for workers, cards and ends."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from redis import asyncio as aioredis

from bench.common import HTTP_ERRORS, Stream, close, exchange, raw_post
from bot.machine import ENDED
from bot.models import DeployRequest
from bot.ports.store import StoreUnavailable
from bot.store.requests import RedisStore
from handlers.routes import APPROVE
from tests.fakes import RedisServer, SignedRequest, block_action, slash_command

APPROVERS = ("U0ALICE", "U0BOB", "U0CAROL", "U0DAVE")
REQUESTER = "U0DEV"
CHANNEL = "C0DEPLOY"
ENVIRONMENT = "prod"
REQUEST_ID = re.compile(rb"Request `(d-[a-z0-9]+)`")
POLL_SECONDS = 0.25  # how often a client looks for its request's card
WORKERS_DEADLINE = 60.0  # seconds the workers have to start
CARD_DEADLINE = 300.0  # seconds a client waits for a card before it counts an error


@dataclass
class Tally:
    """What the clients saw: ack latencies, the requests made, errors."""

    deploy_ms: list[float] = field(default_factory=list)
    click_ms: list[float] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)  # wall clock: finished_at compares
    clicks_seconds: float = 0.0  # from the first /deploy to the last click's ack


def service_name(n: int) -> str:
    return f"svc-{n:03d}"


@dataclass
class Client:
    port: int
    store: RedisStore
    tally: Tally
    args: argparse.Namespace
    stream: Stream | None = None

    async def run(self, work: Iterator[int]) -> None:
        for n in work:
            await self.ask_and_approve(n)
        close(self.stream)

    async def ask_and_approve(self, n: int) -> None:
        service, version = service_name(n % self.args.services), f"v1.0.{n // self.args.services}"
        text = f"{service} {version} to {ENVIRONMENT}"
        reply = await self.send(slash_command("/deploy", text, REQUESTER, CHANNEL), "deploy")
        found = REQUEST_ID.search(reply) if reply is not None else None
        if found is None:
            self.tally.errors.append(f"/deploy {text}: no request id in {reply!r}")
            return
        request_id = found.group(1).decode()
        self.tally.request_ids.append(request_id)
        if not (ts := await self.card(request_id)):
            self.tally.errors.append(f"{request_id}: no card within {CARD_DEADLINE:.0f} s")
            return
        for k in range(self.args.per_request):
            approver = APPROVERS[(n + k) % len(APPROVERS)]
            click = block_action(approver, APPROVE, request_id, ts, CHANNEL)
            if await self.send(click, "click") is None:
                self.tally.errors.append(f"{request_id}: {approver}'s click was not acked")

    async def send(self, request: SignedRequest, kind: str) -> bytes | None:
        """POST it, timing the ack; the reply's body on a 200, else None. A kept-alive
        connection the server has closed meanwhile (uvicorn closes idle ones after 5 s) is
        replaced and the same delivery sent again, as Slack retries (shipbot dedupes it)."""
        started = time.perf_counter()
        for reused in (self.stream is not None, False):
            try:
                self.stream = self.stream or await asyncio.open_connection("127.0.0.1", self.port)
                reply = await exchange(*self.stream, raw_post(self.port, request))
                break
            except HTTP_ERRORS:
                close(self.stream)
                self.stream = None
                if not reused:
                    return None
        latency = (time.perf_counter() - started) * 1000
        (self.tally.deploy_ms if kind == "deploy" else self.tally.click_ms).append(latency)
        return reply.body if reply.status == 200 else None

    async def card(self, request_id: str) -> str:
        """The ts of the request's card once the worker posted it ("" if it never did)."""
        deadline = time.monotonic() + CARD_DEADLINE
        while time.monotonic() < deadline:
            with contextlib.suppress(StoreUnavailable):  # the machine stalled: look again
                request = await self.store.get(request_id)
                if request is not None and request.card_ts:
                    return request.card_ts
            await asyncio.sleep(POLL_SECONDS)
        return ""


async def load(port: int, store: RedisStore, args: argparse.Namespace) -> Tally:
    tally = Tally()
    work = iter(range(args.approvals // args.per_request))
    started = time.perf_counter()
    clients = [Client(port, store, tally, args) for _ in range(args.clients)]
    await asyncio.gather(*(client.run(work) for client in clients))
    tally.clicks_seconds = time.perf_counter() - started
    return tally


async def workers_alive(store: RedisStore, count: int) -> None:
    """Wait until ``count`` workers keep a heartbeat, so the load starts on a ready system."""
    deadline = time.monotonic() + WORKERS_DEADLINE
    while (await store.workers()).alive < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} workers started in {WORKERS_DEADLINE:.0f} s")
        await asyncio.sleep(0.2)


async def drained(
    store: RedisStore, request_ids: list[str], stall: float
) -> dict[str, DeployRequest | None]:
    """Every request as Redis has it once all have ended, or once none has moved on for
    ``stall`` seconds (a request left open then fails the checks)."""
    found: dict[str, DeployRequest | None] = dict.fromkeys(request_ids)
    open_ids, last_move = list(request_ids), time.monotonic()
    while open_ids and time.monotonic() - last_move < stall:
        before = _states(found, open_ids)
        with contextlib.suppress(StoreUnavailable):  # the machine stalled: look again
            for rid, request in zip(open_ids, await _get_all(store, open_ids), strict=True):
                found[rid] = request
        if _states(found, open_ids) != before:
            last_move = time.monotonic()
        open_ids = [rid for rid in open_ids if (r := found[rid]) is None or r.state not in ENDED]
        if open_ids:
            await asyncio.sleep(0.5)
    return found


def _states(found: dict[str, DeployRequest | None], ids: list[str]) -> list[str]:
    return [r.state.value if (r := found[rid]) else "" for rid in ids]


async def _get_all(store: RedisStore, request_ids: list[str]) -> list[DeployRequest | None]:
    return list(await asyncio.gather(*(store.get(rid) for rid in request_ids)))


def patient_store(redis: RedisServer) -> RedisStore:
    """The store, read by the benchmark with long timeouts: shipbot's own client gives up
    after 2 s, which a 2-CPU machine under this load sometimes stalls for."""
    client = aioredis.from_url(redis.url, decode_responses=True, socket_timeout=30)
    return RedisStore(client)
