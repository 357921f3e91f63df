"""Benchmark: what a 90-day /metrics summary costs as history grows.

One run starts a private redis-server, and for each size (10,000 and 1,000,000 production
deploys over three years, across 50 services) empties it, records that history, then times
``bot.domain.metrics.figures.summarize`` for the last 90 days: of one service, and of all
services. It prints both, the all-services figures on one line, and ends with

    metrics 90d summary: 10k <ms> ms, 1M <ms> ms, ratio <1M/10k>

(one service), against the targets MAX_ONE_SERVICE_MS and MAX_RATIO.

Each run is recorded the way the store records one that ends: its history entry (LPUSH and
LTRIM of the service's list), ``MetricsStore.add_metrics`` (the metrics Lua that finish runs:
the day aggregates and the running tally) and, for a successful deploy, its commits' lead
times (``add_lead_times``, what ``record_lead_times`` runs), queued in pipelines of BATCH runs
instead of one round trip each. The mix is seeded, so two runs record the same history: most
deploys succeed, some fail, some are rolled back, some are hotfixes, and some are undone by a
later /rollback.

    .venv/bin/python bench/metrics.py [--repeat 20] [--sizes 10000,1000000]

A benchmark, not a test: timing misses are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.catalog.model import Catalog  # noqa: E402 - needs the repo root on sys.path
from bot.domain.metrics.days import day_of, today  # noqa: E402
from bot.domain.metrics.figures import summarize  # noqa: E402
from bot.domain.metrics.period import parse_period  # noqa: E402
from bot.domain.services import Services  # noqa: E402
from bot.models import Action, HistoryEntry, State, StepStatus  # noqa: E402
from bot.ports.metrics import Mark  # noqa: E402
from bot.store.requests import RedisStore, connect  # noqa: E402
from bot.store.scripts import HISTORY_KEEP  # noqa: E402
from tests.fakes import RedisServer  # noqa: E402

SERVICES = [f"svc-{i:02d}" for i in range(50)]
ENVIRONMENT = "prod"
DATACENTERS = ("dc-a", "dc-b")
YEARS = 3
BATCH = 5_000
KNOWN_LEADS = 0.9  # the share of successful deploys whose commits GitLab could tell
MAX_ONE_SERVICE_MS = 50.0
MAX_RATIO = 1.5
SEED = 9


# the history ---------------------------------------------------------------------------
@dataclass
class Lane:
    """What the history of one service has reached, for the next run's marks."""

    last_id: str = ""  # the latest successful deploy
    last_at: float = 0.0
    undone: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Run:
    entry: HistoryEntry
    mark: Mark
    leads: list[float] | None  # a successful deploy's commits' lead times (None: unknown)
    shipped: bool = False  # a successful deploy: its lead times are recorded


def history(size: int, now: float, zone: str) -> Iterator[Run]:
    """``size`` runs of the 50 services' production environments, oldest first, ending by
    ``now``."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible history, not a secret
    start = now - YEARS * 365 * 86400
    times = sorted(rng.uniform(start, now) for _ in range(size))
    lanes = {service: Lane() for service in SERVICES}
    return (_run(n, at, rng, lanes, zone) for n, at in enumerate(times))


def _run(n: int, at: float, rng: random.Random, lanes: dict[str, Lane], zone: str) -> Run:
    service = rng.choice(SERVICES)
    lane = lanes[service]
    roll = rng.random()
    if roll < 0.02 and lane.last_id and lane.last_id not in lane.undone:
        return _rollback(n, at, service, lane, zone)
    outcome = State.SUCCEEDED if roll < 0.90 else State.FAILED
    back = outcome is State.FAILED and roll > 0.95  # failed and returned to what ran before
    hotfix = 0.02 <= roll < 0.04
    entry = _entry(n, at, service, Action.DEPLOY, outcome, back, hotfix, rng)
    marks = lane.last_id if hotfix and lane.last_id else ""
    mark = Mark(
        production=True,
        day=day_of(at, zone),
        marks=marks,
        marks_day=day_of(lane.last_at, zone) if marks else "",
        marks_at=lane.last_at if marks else 0.0,
        why="hotfixed" if marks else "",
    )
    if outcome is not State.SUCCEEDED:
        return Run(entry, mark, None)
    lane.last_id, lane.last_at = entry.request_id, at
    leads = [rng.lognormvariate(11, 1.2) for _ in range(rng.randint(1, 6))]
    return Run(entry, mark, leads if rng.random() < KNOWN_LEADS else None, shipped=True)


def _rollback(n: int, at: float, service: str, lane: Lane, zone: str) -> Run:
    entry = _entry(n, at, service, Action.ROLLBACK, State.SUCCEEDED, False, False, None)
    entry = entry.model_copy(update={"undoes": lane.last_id})
    lane.undone.add(lane.last_id)
    mark = Mark(
        production=True,
        day=day_of(at, zone),
        marks=lane.last_id,
        marks_day=day_of(lane.last_at, zone),
        marks_at=lane.last_at,
        why="undone",
    )
    return Run(entry, mark, None)


def _entry(
    n: int,
    at: float,
    service: str,
    action: Action,
    state: State,
    back: bool,
    hotfix: bool,
    rng: random.Random | None,
) -> HistoryEntry:
    took = rng.uniform(60, 900) if rng else 120.0
    status = StepStatus.SUCCEEDED if state is State.SUCCEEDED else StepStatus.FAILED
    if back:
        status = StepStatus.ROLLED_BACK
    return HistoryEntry(
        request_id=f"d-{n:08d}",
        action=action,
        service=service,
        environment=ENVIRONMENT,
        version=f"v{n}",
        state=state,
        requester="U0BENCH",
        approvers=["U0ALICE", "U0BOB"],
        targets=dict.fromkeys(DATACENTERS, status),
        started_at=at - took,
        finished_at=at,
        failure="" if state is State.SUCCEEDED else "task 'deploy' failed",
        hotfix=hotfix,
        created_at=at - took - 600,
    )


async def record(store: RedisStore, runs: Iterator[Run]) -> None:
    """Each run as the store records its end, BATCH runs per pipeline round trip."""
    while batch := list(itertools.islice(runs, BATCH)):
        async with store.redis.pipeline(transaction=False) as pipe:
            for run in batch:
                key = store.key.history(run.entry.service, run.entry.environment)
                pipe.lpush(key, run.entry.model_dump_json())
                pipe.ltrim(key, 0, HISTORY_KEEP - 1)
                await store.add_metrics(run.entry, run.mark, tally=True, pipe=pipe)
                if run.shipped:
                    e = run.entry
                    where = (e.service, e.environment, e.request_id, run.mark.day)
                    await store.add_lead_times(*where, run.leads, pipe=pipe)
            await pipe.execute()


# timing --------------------------------------------------------------------------------
def catalog() -> Catalog:
    environments = {"staging": {}, ENVIRONMENT: {"datacenters": list(DATACENTERS)}}
    service = {"deployer": "ansible", "playbook": "deploy.yml", "environments": environments}
    return Catalog.model_validate(
        {
            "notify": {"releases_channel": "C0RELEASES"},
            "services": dict.fromkeys(SERVICES, service),
        }
    )


def services(store: RedisStore, cat: Catalog) -> Services:
    """What summarize reads: the catalog and the store (no code source)."""
    unused: Any = None
    return Services(cat, store, unused, unused, unused, unused, unused)


async def median_ms(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    await call()  # warm: the scripts loaded, the connection open
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@dataclass(frozen=True)
class Measured:
    size: int
    fill_seconds: float
    one_ms: float
    all_ms: float
    all_figures: str


async def measure(url: str, size: int, repeat: int) -> Measured:
    cat = catalog()
    redis = connect(url)
    store = RedisStore(redis, "shipbot", 60)
    try:
        await redis.flushdb()
        runs = history(size, time.time(), cat.timezone)
        started = time.perf_counter()
        await record(store, runs)
        filled = time.perf_counter() - started
        period = parse_period("90d", today(cat.timezone))
        wired = services(store, cat)
        one = await median_ms(lambda: summarize(wired, SERVICES[0], period), repeat)
        every = await median_ms(lambda: summarize(wired, None, period), repeat)
        figures = describe(await summarize(wired, None, period))
    finally:
        await redis.aclose()
    return Measured(size, filled, one, every, figures)


def describe(summary: Any) -> str:
    """The all-services figures on one line: key=value (or why there is none)."""
    parts = []
    for figure in summary.figures:
        value = figure.now.number
        shown = figure.now.missing if value is None else f"{value:.3g}"
        parts.append(f"{figure.key}={shown}")
    return " ".join(parts)


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def report(results: list[Measured]) -> None:
    print(f"\n90-day /metrics summary over {len(SERVICES)} services, {YEARS} years of history")
    print(f"{'deploys':>10}{'fill s':>10}{'one ms':>10}{'all ms':>10}")
    for r in results:
        print(f"{label(r.size):>10}{r.fill_seconds:>10.1f}{r.one_ms:>10.2f}{r.all_ms:>10.2f}")
    small, large = results[0], results[-1]
    ratio = large.one_ms / small.one_ms
    met = large.one_ms <= MAX_ONE_SERVICE_MS
    print(f"\none service at {label(large.size)}: {large.one_ms:.1f} ms "
          f"(target <= {MAX_ONE_SERVICE_MS:.0f} ms): {_verdict(met)}")  # fmt: skip
    print(f"{label(large.size)}/{label(small.size)}: {ratio:.2f}x (target <= {MAX_RATIO}x): "
          f"{_verdict(ratio <= MAX_RATIO)}")  # fmt: skip
    print(f"all services, 90d, {label(large.size)}: {large.all_figures}")
    print(f"metrics 90d summary: {label(small.size)} {small.one_ms:.1f} ms, "
          f"{label(large.size)} {large.one_ms:.1f} ms, ratio {ratio:.2f}")  # fmt: skip


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed summaries (default 20)")
    parser.add_argument(
        "--sizes", default="10000,1000000", help="deploys per history (default 10000,1000000)"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(RedisServer())
        results = []
        for size in sizes:
            results.append(asyncio.run(measure(redis.url, size, args.repeat)))
            print(f"{label(size)} deploys recorded in {results[-1].fill_seconds:.0f} s", flush=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
