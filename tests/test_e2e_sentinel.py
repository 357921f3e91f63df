"""End to end: shipbot finds Redis through Sentinel (a real master, replica and three
sentinels) and follows the master when it fails over, by SENTINEL FAILOVER or a SIGKILL:
a request made before is approved after and deploys exactly once, with its history, audit
trail and card intact; a deploy running during the failover ends once, its outcome recorded."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.store.keys import Keys
from tests.conftest import marker_lines, write_catalog
from tests.fakes import FakeSlack
from tests.sentinel import DOWN_AFTER_MS, MASTER, SentinelCluster
from tests.stack import Stack, reply_text

pytestmark = pytest.mark.timeout(300)  # a Redis cluster and a stack per test
APPROVE = "shipbot_approve"
STORE_DOWN = "can't reach its state store"
STARTUP_SECONDS = 90  # a busy machine: each test starts serve and a worker anew
EVENTS = ["requested", "approval", "approval", "approved", "queued", "running", "succeeded"]


@pytest.fixture
def failing(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[tuple[Stack, SentinelCluster]]:
    """`shipbot serve` and `shipbot worker` told only where the sentinels are."""
    fake_slack.reset()
    with SentinelCluster(tmp_path / "redis") as cluster:
        stack = Stack(
            tmp_path, cluster.master(), fake_slack, write_catalog(tmp_path), settings=cluster.env()
        )
        try:
            yield stack.start(timeout=STARTUP_SECONDS), cluster
        finally:
            stack.stop()


@contextlib.contextmanager
def sentinels_slow_to_notice(cluster: SentinelCluster) -> Iterator[None]:
    """Inside the block every sentinel waits 10 minutes before it counts the master down, so
    a dead master stays dead (no election) for as long as the block lasts, however slow the
    machine; after it, back to DOWN_AFTER_MS, and a dead master is replaced."""

    def down_after(milliseconds: int) -> None:
        for sentinel in cluster.sentinels:
            sentinel.ask("SENTINEL", "SET", MASTER, "down-after-milliseconds", str(milliseconds))

    down_after(600_000)
    try:
        yield
    finally:
        down_after(DOWN_AFTER_MS)


def audit_events(bot: Stack, request_id: str) -> list[str]:
    """The request's audit trail as `/shipbot audit` lists it, oldest first."""
    lines = reply_text(bot.command(f"audit {request_id}", command="/shipbot")).splitlines()[1:]
    return [line.split("*")[1] for line in reversed(lines)]


def audit_verify(bot: Stack) -> subprocess.CompletedProcess[str]:
    """`shipbot audit verify` as an auditor runs it, through the sentinels."""
    command = [sys.executable, "-m", "bot.app.cli", "audit", "verify"]
    return subprocess.run(command, env=bot.env(), capture_output=True, text=True, timeout=60)


def assert_deployed_once_and_intact(bot: Stack, request_id: str, version: str) -> None:
    """One marker line per data centre, the history says so, the audit trail lists every step
    once and its hash chain verifies."""
    bot.wait_card(request_id, "Deployed in")
    expected = [f"web-h5 {version} prod {dc} deploy {request_id}" for dc in ("dc-a", "dc-b")]
    assert expected == marker_lines(bot)
    history = reply_text(bot.command("history web-h5 prod", command="/shipbot"))
    assert request_id in history and "succeeded" in history
    assert EVENTS == audit_events(bot, request_id)
    verified = audit_verify(bot)
    assert 0 == verified.returncode, verified.stdout + verified.stderr


def test_approved_after_a_sentinel_failover_deploys_once(
    failing: tuple[Stack, SentinelCluster],
) -> None:
    """A request approved once, SENTINEL FAILOVER, then the second approval: the bot and the
    worker follow the new master; the deploy runs once and nothing of the request is lost."""
    bot, cluster = failing
    request_id = bot.deploy("web-h5 v2 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "1 of 2")
    old = cluster.master()
    assert old.port != cluster.failover().port
    bot.click(APPROVE, request_id, "U0BOB")
    assert_deployed_once_and_intact(bot, request_id, "v2")
    assert [] == [said for said in bot.ephemerals("U0BOB") if STORE_DOWN in said]


def test_a_deploy_asked_right_after_a_sentinel_failover_is_on_the_new_master(
    failing: tuple[Stack, SentinelCluster],
) -> None:
    """SENTINEL FAILOVER, and a /deploy as soon as the sentinels name the new master, while the
    old one still answers as a master: the request is on the new master and deploys once
    (serve's warm connections went to the old master before it followed the announcement)."""
    bot, cluster = failing
    bot.deployed("web-h5 v1 to staging")  # serve and the worker have warm connections
    old = cluster.master()
    cluster.sentinels[0].ask("SENTINEL", "FAILOVER", MASTER)
    new = cluster.wait_new_master(old)
    request_id = bot.deploy("web-h5 v5 to staging")
    with redis.Redis(port=new.port) as direct:
        assert 1 == direct.exists(Keys().req(request_id))
    assert "master" == old.role()
    bot.wait_card(request_id, "Deployed in")
    assert f"web-h5 v5 staging - deploy {request_id}" in marker_lines(bot)


def test_approved_after_the_master_is_killed_deploys_once(
    failing: tuple[Stack, SentinelCluster],
) -> None:
    """A request approved once, the master SIGKILLed: while no master is elected (held so by
    the sentinels, however long the command takes) a command is told shipbot can't reach its
    state store; once one is, the second approval deploys once and nothing of the request is
    lost."""
    bot, cluster = failing
    request_id = bot.deploy("web-h5 v3 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "1 of 2")
    with sentinels_slow_to_notice(cluster):
        old = cluster.kill_master()
        assert STORE_DOWN in reply_text(bot.command("web-h5 v4 to staging"))
        assert {old.port} == {sentinel.master_port() for sentinel in cluster.sentinels}
    cluster.wait_new_master(old)
    bot.click(APPROVE, request_id, "U0BOB")
    assert_deployed_once_and_intact(bot, request_id, "v3")


@pytest.mark.parametrize("how", ["failover", "kill"])
def test_a_deploy_running_through_a_failover_ends_once(
    failing: tuple[Stack, SentinelCluster], how: str
) -> None:
    """A deploy holds at its playbook's gate while the master fails over; opened, it ends once
    (one marker line), its outcome on the card and in the history."""
    bot, cluster = failing
    request_id = bot.deploy("slow v1 to staging")
    bot.wait_card(request_id, "Deploying")
    if how == "failover":
        cluster.failover()
    else:
        cluster.wait_new_master(cluster.kill_master())
    (bot.workdir / "gate").touch()
    bot.wait_card(request_id, "Deployed in")
    assert [f"slow v1 staging - deploy {request_id}"] == marker_lines(bot)
    history = reply_text(bot.command("history slow staging", command="/shipbot"))
    assert request_id in history and "succeeded" in history
    assert "succeeded" == audit_events(bot, request_id)[-1]
