"""Benchmark: shipbot's /deploy ack path against a bare Bolt app that only acks.

One run starts a private redis-server, FakeSlack (in its own process, so its server thread
never competes with the load generator for the GIL), `shipbot serve` and bench/bare_app.py
as subprocesses on 127.0.0.1, warms both, then sends each N distinct, correctly signed
/deploy requests over C keep-alive connections and prints requests/s, p50/p99 ack latency
(measured by the client), errors and server CPU per request, against the targets
MIN_THROUGHPUT_RATIO and MAX_P99_MS; and, for shipbot, what Redis spent per request (its own
time in commands and scripts, from INFO commandstats, and the commands run).

The target compares shipbot with the bare app as Bolt runs it by default, which checks every
10 ms whether its listener has acked: at 20 connections that wait, not its CPU, bounds it. So
the same bare app with Bolt's ``process_before_response`` (bare-pbr, bound by its CPU alone) is
measured too and printed for reference, with shipbot's throughput and CPU per request beside it.

The catalog is examples/demo/catalog.yaml: web-h5 prod needs 2 approvals, so each /deploy
records a pending request and enqueues its card; `shipbot worker`, started after the load so
it does not compete for the CPUs, posts the cards. Nothing deploys.

    .venv/bin/python bench/ack_path.py [--requests 2000] [--concurrency 20] [--warmup 200]

A benchmark, not a test: timing misses are reported, never asserted. It exits 1 only when
a request failed or got a wrong answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402 - needs the repo root on sys.path
    HTTP_ERRORS,
    Reply,
    Server,
    SlackProcess,
    Stream,
    close,
    exchange,
    percentile,
    raw_post,
    shipbot_env,
    shipbot_worker,
)
from tests.fakes import RedisServer, SignedRequest, slash_command  # noqa: E402

CATALOG = ROOT / "examples" / "demo" / "catalog.yaml"
BARE_APP = Path(__file__).with_name("bare_app.py")
REQUESTER = "U0DEV"
MIN_THROUGHPUT_RATIO = 0.8
MAX_P99_MS = 25.0
SHIPBOT_REPLY = re.compile(rb"Request `d-[a-z0-9]+`")


def servers(
    redis: RedisServer, slack: SlackProcess, logdir: Path, workers: int
) -> tuple[Server, Server, Server]:
    """The bare app as Bolt runs it by default (the target's baseline), the bare app bound by
    its CPU alone (for reference: see bench/bare_app.py), and shipbot."""
    env = shipbot_env(redis, slack, CATALOG)
    bare = Server("bare", [str(BARE_APP)], env, logdir, workers)
    cpu_bound = [str(BARE_APP), "--process-before-response"]
    bare_cpu = Server("bare-pbr", cpu_bound, env, logdir, workers)
    shipbot = Server("shipbot", ["-m", "bot.app.cli", "serve"], env, logdir, workers)
    return bare, bare_cpu, shipbot


# load ----------------------------------------------------------------------------------
# The load generator is raw HTTP/1.1 (bench/common.py), one keep-alive connection per worker.
Check = Callable[[Reply], bool]


@dataclass
class Result:
    name: str
    seconds: float
    latencies_ms: list[float]
    errors: int
    server_cpu_seconds: float = math.nan
    redis_commands: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        """Server process CPU (user + system) per request, including work after the ack."""
        return self.server_cpu_seconds * 1000 / self.requests

    def percentile(self, p: int) -> float:
        return percentile(self.latencies_ms, p)


def deploy_requests(count: int, major: int) -> list[SignedRequest]:
    """Distinct signed /deploy commands: unique trigger_id each, versions v{major}.0.N."""
    return [
        slash_command("/deploy", f"web-h5 v{major}.0.{n} to prod", REQUESTER) for n in range(count)
    ]


async def load(
    name: str, port: int, requests: list[SignedRequest], concurrency: int, check: Check
) -> Result:
    pending = iter([raw_post(port, r) for r in requests])
    result = Result(name, 0.0, [], 0)
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, pending, check, result) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


async def _connection(port: int, pending: Iterator[bytes], check: Check, result: Result) -> None:
    """One keep-alive connection sending requests until none are left; reconnects on errors."""
    stream: Stream | None = None
    for raw in pending:
        started = time.perf_counter()
        try:
            stream = stream or await asyncio.open_connection("127.0.0.1", port)
            reply = await exchange(*stream, raw)
        except HTTP_ERRORS:
            result.errors += 1
            close(stream)
            stream = None
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.errors += 0 if check(reply) else 1
    close(stream)


def bare_ack(reply: Reply) -> bool:
    return reply.status == 200


def shipbot_ack(reply: Reply) -> bool:
    return reply.status == 200 and SHIPBOT_REPLY.search(reply.body) is not None


def measure(
    server: Server, args: argparse.Namespace, major: int, check: Check, store: RedisServer
) -> Result:
    warmup = deploy_requests(args.warmup, major)
    asyncio.run(load("warmup", server.port, warmup, args.concurrency, check))
    measured = deploy_requests(args.requests, major + 1)
    with redis.Redis.from_url(store.url) as client:
        client.config_resetstat()
        cpu_before = server.cpu_seconds()
        result = asyncio.run(load(server.name, server.port, measured, args.concurrency, check))
        result.server_cpu_seconds = server.cpu_seconds() - cpu_before
        result.redis_commands = client.info("commandstats")
    return result


def redis_line(result: Result) -> str:
    """Redis's own time per request, and the commands it ran per request (most first)."""
    stats = {
        name.removeprefix("cmdstat_"): figures
        for name, figures in result.redis_commands.items()
        if not name.startswith("cmdstat_config")
    }
    usec = sum(figures["usec"] for figures in stats.values()) / result.requests
    ran = sorted(stats.items(), key=lambda item: -item[1]["calls"])
    calls = ", ".join(f"{name} {figures['calls'] / result.requests:.2g}" for name, figures in ran)
    return f"{result.name} in Redis: {usec:.0f} usec/request; commands per request: {calls}"


def wait_for_cards(slack: SlackProcess, expected: int, timeout: float = 30.0) -> tuple[int, float]:
    """Cards shipbot posted after acking, and how long after the last ack they were all in."""
    started = time.monotonic()
    while (posted := slack.posted()) < expected and time.monotonic() - started < timeout:
        time.sleep(0.05)
    return posted, time.monotonic() - started


# report --------------------------------------------------------------------------------
def report(bare: Result, bare_cpu: Result, shipbot: Result, args: argparse.Namespace) -> None:
    print(
        f"\n/deploy ack path: {args.requests} requests each over {args.concurrency} connections, "
        f"127.0.0.1, {os.cpu_count()} CPUs, {args.workers} HTTP process(es) per server, "
        f"after {args.warmup} warm-up requests"
    )
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'CPU ms/req':>12}")
    for r in (bare, bare_cpu, shipbot):
        print(
            f"{r.name:10}{r.requests_per_second:>10.0f}{r.percentile(50):>10.1f}"
            f"{r.percentile(99):>10.1f}{r.errors:>8}{r.cpu_ms_per_request:>12.2f}"
        )
    ratio = shipbot.requests_per_second / bare.requests_per_second
    p99 = shipbot.percentile(99)
    print(f"\nshipbot/bare throughput {ratio:.2f}x  (target >= {MIN_THROUGHPUT_RATIO}x): "
          f"{_verdict(ratio >= MIN_THROUGHPUT_RATIO)}")  # fmt: skip
    print(f"shipbot p99 ack {p99:.1f} ms  (target <= {MAX_P99_MS:.0f} ms): "
          f"{_verdict(p99 <= MAX_P99_MS)}")  # fmt: skip
    reference = shipbot.requests_per_second / bare_cpu.requests_per_second
    cpu = shipbot.cpu_ms_per_request / bare_cpu.cpu_ms_per_request
    print(f"for reference, against bare-pbr (Bolt's process_before_response: bound by its CPU, "
          f"not by Bolt's 10 ms ack check): throughput {reference:.2f}x, CPU per request "
          f"{cpu:.1f}x")  # fmt: skip


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per server (default 2000)")
    parser.add_argument("--concurrency", type=int, default=20, help="connections (default 20)")
    parser.add_argument("--warmup", type=int, default=200, help="per server (default 200)")
    parser.add_argument(
        "--workers", type=int, default=1, help="HTTP processes per server (default 1)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    with contextlib.ExitStack() as stack:
        logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shipbot-bench-")))
        redis = stack.enter_context(RedisServer())
        slack = stack.enter_context(SlackProcess())
        bare, bare_cpu, shipbot = (
            stack.enter_context(s) for s in servers(redis, slack, logdir, args.workers)
        )
        bare_result = measure(bare, args, 1, bare_ack, redis)
        bare_cpu_result = measure(bare_cpu, args, 5, bare_ack, redis)
        shipbot_result = measure(shipbot, args, 3, shipbot_ack, redis)
        # The worker starts after the load: on a 2-core machine it would otherwise compete
        # with the server being measured; in production it runs on its own hosts.
        stack.enter_context(shipbot_worker(shipbot_env(redis, slack, CATALOG), logdir))
        cards, drained = wait_for_cards(slack, args.warmup + args.requests)
        report(bare_result, bare_cpu_result, shipbot_result, args)
        print(redis_line(shipbot_result))
        print(f"cards posted by shipbot after its acks: {cards}/{args.warmup + args.requests}, "
              f"all in {drained:.1f} s after the last ack")  # fmt: skip
    return 1 if bare_result.errors or bare_cpu_result.errors or shipbot_result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
