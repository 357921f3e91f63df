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
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load_checks as checks  # noqa: E402 - needs the repo root on sys.path
from bench.common import (  # noqa: E402
    Server,
    SlackProcess,
    memory_kib,
    percentile,
    shipbot_env,
    shipbot_worker,
)
from bench.load_clients import (  # noqa: E402
    APPROVERS,
    ENVIRONMENT,
    Tally,
    drained,
    load,
    patient_store,
    service_name,
    workers_alive,
)
from bot.machine import ENDED  # noqa: E402
from bot.models import DeployRequest  # noqa: E402
from tests.fakes import RedisServer  # noqa: E402

PLAYBOOK = Path(__file__).with_name("load") / "playbook.yml"


# the catalog ---------------------------------------------------------------------------
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
