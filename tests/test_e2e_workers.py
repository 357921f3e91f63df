"""End to end: what people are told when no worker runs, and how soon a deploy whose worker
was killed is ended. Each test has its own redis-server and processes."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.store.keys import Keys
from tests.conftest import write_catalog
from tests.fakes import FakeSlack, RedisServer
from tests.stack import Stack, reply_text

APPROVE = "shipbot_approve"
LEASE = 10
NO_WORKER = "No shipbot worker"
KEYS = Keys()


@pytest.fixture
def lonely(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Stack]:
    """`shipbot serve` with its own Redis, its lease at 10 s, and no worker yet."""
    fake_slack.reset()
    with RedisServer() as server:
        settings = {"SHIPBOT_LEASE_SECONDS": str(LEASE)}
        stack = Stack(tmp_path, server, fake_slack, write_catalog(tmp_path), settings=settings)
        yield stack.start(worker=False)
        stack.stop()


def alive(stack: Stack) -> int:
    return int(redis.Redis.from_url(stack.redis.url).zcard(KEYS.workers()))


def two_minutes_ago(stack: Stack) -> None:
    """As if every worker had last been heard from two minutes ago (a stopped worker counts
    as alive for 45 s, which would make the test wait)."""
    client = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    for name in client.zrange(KEYS.workers(), 0, -1):
        client.zadd(KEYS.workers(), {name: time.time() - 120})


def test_without_a_worker_the_ack_and_status_say_so(lonely: Stack) -> None:
    """No worker has ever run: the ack of a deploy that needs no approval does not promise
    that it runs now, and status says so first."""
    answer = reply_text(lonely.command("web-h5 v1 to staging"))
    assert "No shipbot worker has ever been seen" in answer and "starts now" not in answer
    status = reply_text(lonely.command("status web-h5", command="/shipbot"))
    assert status.startswith("⚠️ No shipbot worker has ever been seen")


def test_a_queued_card_says_when_its_worker_has_gone(lonely: Stack) -> None:
    """A worker posts the card, then stops; once approved, the queued card says that no
    worker has been seen since, and status agrees."""
    worker = lonely.spawn_worker()
    lonely.slack.wait_for(lambda: alive(lonely), timeout=30)
    request_id = lonely.deploy("web-h5 v1 to prod")
    lonely.wait_card(request_id, "Waiting for approval")
    worker.terminate()
    worker.wait(timeout=30)
    two_minutes_ago(lonely)
    for approver in ("U0ALICE", "U0BOB"):
        lonely.click(APPROVE, request_id, approver)
    card = lonely.wait_card(request_id, "Queued")
    assert "No shipbot worker has been seen for 2m" in card
    status = reply_text(lonely.command("status web-h5", command="/shipbot"))
    assert NO_WORKER in status.splitlines()[0] and f"`{request_id}` v1 queued" in status


def test_a_killed_workers_deploy_ends_within_its_lease_and_fifteen_seconds(
    lonely: Stack,
) -> None:
    """kill -9 the worker running a deploy: another worker ends it as failed, and starts the
    next request of its lane, within the lease (10 s) plus 15 s."""
    workers = {lonely.spawn_worker(f"worker-{n}") for n in "ab"}
    lonely.slack.wait_for(lambda: alive(lonely) == 2, timeout=30)
    running = lonely.deploy("slow v1 to staging")
    lonely.wait_card(running, "Deploying")
    waiting = lonely.deploy("slow v2 to staging")
    lonely.wait_card(waiting, f"behind `{running}`")
    client = redis.Redis.from_url(lonely.redis.url, decode_responses=True)
    # the kill is for the deploy, not for a worker between posting a card and recording it
    lonely.slack.wait_for(lambda: client.hget(KEYS.req(waiting), "card_ts"))
    pid = int(str(client.hget(KEYS.req(running), "worker")).rsplit(":", 1)[1])
    victim = next(w for w in workers if w.pid == pid)
    victim.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    card = lonely.wait_card(running, "Failed", timeout=LEASE + 15 + 10)
    took = time.monotonic() - killed
    assert took <= LEASE + 15, f"ended {took:.1f}s after the kill"
    assert "stopped unexpectedly" in card
    lonely.wait_card(waiting, "Deploying")
    (lonely.workdir / "gate").touch()
    lonely.wait_card(waiting, "Deployed in")
