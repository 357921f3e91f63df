"""Load and soak: many services' lanes deploying at once through several `shipbot worker`
processes, with approvals clicked by concurrent clients, then a check that every request
ended in one final state, exactly once.

One run starts a private redis-server, FakeSlack (in its own process), `shipbot serve` and W
`shipbot worker` processes, and writes a catalog of S services into a temp dir: each an
Ansible service whose prod environment needs P approvals and deploys to one data centre with
bench/load/playbook.yml (sleeps --sleep seconds, then appends the request id to a run file).
C clients then each repeat, over keep-alive HTTP connections: a signed /deploy of the next
service (round robin, so each lane gets several requests queued behind each other), wait for
its card (as a person would), and P signed clicks on its Approve button by distinct approvers,
until --approvals clicks are made. Then it waits for every request to end (giving up after
--stall seconds in which none moved on).

It prints throughput, p50/p99 ack latency of /deploy and of the clicks (measured by the
client), each worker's resident memory (at the end, and its peak), Redis memory and the
durations; then checks, from Redis, the run file and the audit trail, that every request
ended once (bench/load_checks.py).

    .venv/bin/python bench/load.py [--services 50] [--approvals 1000] [--clients 20] [--workers 2]

A benchmark, not a test: timings are reported, never asserted. It exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from redis import asyncio as aioredis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load_checks as checks  # noqa: E402 - needs the repo root on sys.path
from bench.common import (  # noqa: E402
    HTTP_ERRORS,
    Server,
    SlackProcess,
    Stream,
    close,
    exchange,
    memory_kib,
    percentile,
    raw_post,
    shipbot_env,
    shipbot_worker,
)
from bot.machine import ENDED  # noqa: E402
from bot.models import DeployRequest  # noqa: E402
from bot.ports.store import StoreUnavailable  # noqa: E402
from bot.store.requests import RedisStore  # noqa: E402
from handlers.routes import APPROVE  # noqa: E402
from tests.fakes import RedisServer, SignedRequest, block_action, slash_command  # noqa: E402

PLAYBOOK = Path(__file__).with_name("load") / "playbook.yml"
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


# the catalog ---------------------------------------------------------------------------
def service_name(n: int) -> str:
    return f"svc-{n:03d}"


def write_catalog(directory: Path, services: int, approvals: int, sleep: float) -> Path:
    """S Ansible services, each with a prod needing ``approvals`` and one data centre."""
    run_file = directory / "runs.txt"
    environment = {"approvals": approvals, "approvers": list(APPROVERS), "datacenters": ["dc-a"]}
    catalog = {
        "notify": {"releases_channel": "C0RELEASES"},
        "services": {
            service_name(n): {
                "deployer": "ansible",
                "playbook": str(PLAYBOOK),
                "vars": {"run_file": str(run_file), "sleep_seconds": sleep},
                "ansible": {"timeout_seconds": 600},
                "environments": {ENVIRONMENT: environment},
            }
            for n in range(services)
        },
    }
    path = directory / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path


# the clients ---------------------------------------------------------------------------
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


# the run -------------------------------------------------------------------------------
@dataclass
class Figures:
    tally: Tally
    requests: dict[str, DeployRequest | None]
    seconds: float  # from the first /deploy to the last request's end
    workers_kib: list[dict[str, int]]
    redis_memory: dict[str, str]


def report(figures: Figures, args: argparse.Namespace) -> None:
    t, done = figures.tally, [r for r in figures.requests.values() if r and r.state in ENDED]
    print(
        f"\nload: {args.services} services' lanes, {len(t.request_ids)} requests, "
        f"{len(t.click_ms)} approval clicks by {args.clients} clients, {args.workers} workers, "
        f"playbook sleeping {args.sleep} s, {os.cpu_count()} CPUs"
    )
    print(f"duration                 {figures.seconds:8.1f} s  (first /deploy to last end)")
    print(f"clicking                 {t.clicks_seconds:8.1f} s  (first /deploy to last click)")
    print(f"requests completed       {len(done) / figures.seconds:8.2f} /s")
    print(f"approvals acked          {len(t.click_ms) / t.clicks_seconds:8.2f} /s")
    for name, values in (("/deploy ack", t.deploy_ms), ("approve click ack", t.click_ms)):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"{name:24} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({len(values)} acked)")
    for n, kib in enumerate(figures.workers_kib, 1):
        print(
            f"worker {n} RSS             {kib['VmRSS'] / 1024:8.1f} MiB at the end, "
            f"peak {kib['VmHWM'] / 1024:.1f} MiB (VmHWM; ansible-playbook children not counted)"
        )
    memory = figures.redis_memory
    print(f"Redis used_memory        {memory['used_memory_human']:>8} at the end, "
          f"peak {memory['used_memory_peak_human']}")  # fmt: skip
    print(f"client errors            {len(t.errors):8d}")
    for line in t.errors[: checks.SHOWN]:
        print(f"  {line}")


async def measure(
    server: Server, redis: RedisServer, workers: list[int], args: argparse.Namespace
) -> Figures:
    store = patient_store(redis)
    try:
        await workers_alive(store, args.workers)
        tally = await load(server.port, store, args)
        requests = await drained(store, tally.request_ids, args.stall)
        ends = [r.finished_at for r in requests.values() if r and r.state in ENDED]
        seconds = (max(ends) if ends else time.time()) - tally.started
        redis_memory = {k: str(v) for k, v in (await store.redis.info("memory")).items()}
        return Figures(tally, requests, seconds, [memory_kib(p) for p in workers], redis_memory)
    finally:
        await store.redis.aclose()


async def check(
    figures: Figures,
    redis: RedisServer,
    run_file: Path,
    env: dict[str, str],
    args: argparse.Namespace,
) -> bool:
    requests = figures.requests
    store = patient_store(redis)
    try:
        audit = await checks.audit(store, requests)
        final = await checks.final_states(store, requests)
    finally:
        await store.redis.aclose()
    print("\nchecks:")
    held = [
        checks.report("the clients' requests were all acked", figures.tally.errors),
        checks.report("every request ended, and succeeded", final),
        checks.report(
            "each counted the approvals clicked", checks.approvals(requests, args.per_request)
        ),
        checks.report("the playbook ran once per success", checks.runs(requests, run_file)),
        checks.report("one final audit entry per request", audit),
        checks.report("shipbot audit verify: the chain holds", checks.audit_chain(env)),
    ]
    return all(held)


def run(args: argparse.Namespace, workdir: Path) -> bool:
    catalog = write_catalog(workdir, args.services, args.per_request, args.sleep)
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(RedisServer())
        slack = stack.enter_context(SlackProcess())
        env = shipbot_env(redis, slack, catalog)
        server = stack.enter_context(Server("serve", ["-m", "bot.app.cli", "serve"], env, workdir))
        workers = [
            stack.enter_context(shipbot_worker(env, workdir, f"worker-{n}")).pid
            for n in range(1, args.workers + 1)
        ]
        figures = asyncio.run(measure(server, redis, workers, args))
        report(figures, args)
        return asyncio.run(check(figures, redis, workdir / "runs.txt", env, args))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--services", type=int, default=50, help="services, one lane each (default 50)")
    add("--approvals", type=int, default=1000, help="approval clicks in all (default 1000)")
    add("--per-request", type=int, default=2, help="approvals each request needs (default 2)")
    add("--clients", type=int, default=20, help="concurrent clients (default 20)")
    add("--workers", type=int, default=2, help="`shipbot worker` processes (default 2)")
    add("--sleep", type=float, default=0.5, help="seconds the playbook sleeps (default 0.5)")
    add("--stall", type=float, default=120, help="give up when no request moved this long (120)")
    add("--keep", action="store_true", help="keep the temp dir (logs, catalog, run file)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="shipbot-load-"))
    held = run(args, workdir)
    if args.keep or not held:
        print(f"\nlogs, catalog and run file kept in {workdir}")
    else:
        shutil.rmtree(workdir)
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
