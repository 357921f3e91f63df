"""End to end: GET /readyz and /healthz of a real `shipbot serve`, with no worker, then a worker,
and with Redis stopped. Each test has its own redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app.probes import no_worker
from bot.models import Workers
from tests.conftest import write_catalog
from tests.fakes import FakeSlack, RedisServer
from tests.stack import Stack


@pytest.fixture
def lonely(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Stack]:
    """`shipbot serve` over a redis-server of its own, and no worker yet."""
    with RedisServer() as server:
        stack = Stack(tmp_path, server, fake_slack, write_catalog(tmp_path))
        yield stack.start(worker=False)
        stack.stop()


def probe(stack: Stack, route: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{stack.url}{route}", timeout=5)
    return answer.status_code, answer.json()


def test_without_a_worker_readyz_is_503_and_says_so(lonely: Stack) -> None:
    """No worker has ever run: /readyz answers 503, Redis ok, 0 workers, and the reason names
    the missing worker; /healthz (Redis only) stays 200."""
    reason = "no shipbot worker alive (none has ever been seen); queued deploys wait until "
    reason += "`shipbot worker` runs"
    expected = (
        (503, {"ok": False, "redis": "ok", "workers": 0, "reason": reason}),
        (200, {"ok": True, "redis": "ok"}),
    )
    assert expected == (probe(lonely, "/readyz"), probe(lonely, "/healthz"))


def test_readyz_turns_200_once_a_worker_beats(lonely: Stack) -> None:
    """A worker starts: /readyz answers 200 with the number of live workers, once its first
    heartbeat is in Redis."""
    lonely.spawn_worker()
    ready = lonely.slack.wait_for(lambda: _ready(lonely), timeout=30)
    assert (True, "ok", 1) == (ready["ok"], ready["redis"], ready["workers"])


def _ready(stack: Stack) -> dict[str, Any] | None:
    status, body = probe(stack, "/readyz")
    return body if status == 200 else None


def test_redis_down_makes_both_probes_503(lonely: Stack) -> None:
    """Redis stopped: /readyz and /healthz answer 503 saying Redis is unreachable."""
    lonely.redis.stop()
    reason = "shipbot can't reach Redis, its state store"
    expected = (
        (503, {"ok": False, "redis": "unreachable", "workers": 0, "reason": reason}),
        (503, {"ok": False, "redis": "unreachable"}),
    )
    assert expected == (probe(lonely, "/readyz"), probe(lonely, "/healthz"))


def test_the_reason_says_when_the_last_worker_was_heard_from() -> None:
    """A worker last heard from 130 seconds ago: the reason says how long ago its heartbeat came."""
    expected = (
        "no shipbot worker alive (the last heartbeat came 2m 10s ago); queued deploys wait until "
        "`shipbot worker` runs"
    )
    assert expected == no_worker(Workers(alive=0, last_seen=1000.0), now=1130.0)
