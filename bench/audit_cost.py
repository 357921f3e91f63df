"""Benchmark: the Redis time the audit trail costs a /deploy, read from INFO commandstats.

One run starts a private redis-server, creates N requests needing no approval (create.lua:
requested, approved, queued: three audit entries each), and prints the Redis CPU per create
(``usec`` of the scripts' EVALSHA calls, which Redis counts per command) and, when the store
has one, the cost of chaining those entries afterwards (Store.chain_audit: the reads and the
chain script, per entry). Then it verifies the chain, so the figures are of a working trail.

    .venv/bin/python bench/audit_cost.py [--requests 2000]

A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app.audit_verify import verify_redis  # noqa: E402 - needs the repo root on sys.path
from bot.store.requests import RedisStore, connect  # noqa: E402
from tests.fakes import RedisServer  # noqa: E402
from tests.test_store import request  # noqa: E402


async def _usec(store: RedisStore) -> dict[str, tuple[int, int]]:
    """calls and usec per command, as Redis counts them."""
    stats: dict[str, Any] = await store.redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): (v["calls"], v["usec"]) for name, v in stats.items()}


def _spent(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> int:
    return sum(usec - before.get(name, (0, 0))[1] for name, (_, usec) in after.items())


async def measure(url: str, count: int) -> None:
    store = RedisStore(connect(url))
    await store.ping()
    await store.create(request("warm-up", approvals=0))  # loads the script
    chain = getattr(store, "chain_audit", None)
    if chain is not None:
        await chain()
    await store.redis.config_resetstat()
    for n in range(count):
        await store.create(request(f"d-{n}", approvals=0))
    created = await _usec(store)
    print(f"create: {_spent({}, created) / count:.1f} µs of Redis per /deploy (no approval)")
    if chain is not None:
        await chain()
        chained = await _usec(store)
        entries = 3 * count
        spent = _spent(created, chained)
        print(f"chaining afterwards: {spent / entries:.1f} µs of Redis per entry, ")
        print(f"  {spent / count:.1f} µs per /deploy (3 entries), off the ack path")
    verdict = await verify_redis(store)
    print(f"verify: ok={verdict.ok}, {verdict.count} entries")
    await store.redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with RedisServer() as server:
        asyncio.run(measure(server.url, args.requests))


if __name__ == "__main__":
    main()
