"""End to end: Redis stops and comes back; nothing is half-written and no restart is needed."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import write_catalog
from tests.fakes import FakeSlack, RedisServer, block_action
from tests.stack import Stack, reply_text

STORE_DOWN = "can't reach its state store"


@pytest.fixture(scope="module")
def fragile(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[Stack]:
    """A stack with its own redis-server, which these tests stop and start."""
    workdir = tmp_path_factory.mktemp("fragile")
    with RedisServer() as server:
        stack = Stack(workdir, server, fake_slack, write_catalog(workdir)).start()
        yield stack
        stack.stop()


@pytest.fixture
def down(fragile: Stack) -> Iterator[Stack]:
    fragile.slack.reset()
    fragile.redis.stop()
    yield fragile
    fragile.redis.start()


def test_command_while_redis_is_down_gets_a_clear_message_in_time(down: Stack) -> None:
    """/deploy with Redis stopped: a specific message well within Slack's 3 seconds, no card."""
    started = time.monotonic()
    answer = down.command("web-h5 v1.4.0 to staging")
    elapsed = time.monotonic() - started
    assert 200 == answer.status_code and STORE_DOWN in reply_text(answer)
    assert elapsed < 3.0, elapsed
    assert [] == down.slack.calls("chat.postMessage")


def test_click_while_redis_is_down_tells_the_clicker(down: Stack) -> None:
    """An Approve with Redis stopped is acked and the clicker gets an ephemeral message."""
    click = block_action("U0ALICE", "shipbot_approve", "d-x", "1.1", "C0DEPLOY")
    assert 200 == down.send(click).status_code
    told = down.slack.wait_for(lambda: down.ephemerals("U0ALICE"))
    assert STORE_DOWN in told[0]


def test_healthz_reports_redis_down(down: Stack) -> None:
    """GET /healthz answers 503 while Redis is unreachable."""
    import httpx

    assert 503 == httpx.get(f"{down.url}/healthz", timeout=5).status_code


def test_livez_answers_200_while_redis_is_down(down: Stack) -> None:
    """GET /livez (the orchestrator's probes) asks nothing of Redis: 200 `{"ok": true}` while
    Redis is unreachable, so no bot is restarted or taken out of service for it."""
    import httpx

    answer = httpx.get(f"{down.url}/livez", timeout=5)
    assert (200, {"ok": True}) == (answer.status_code, answer.json())


def test_serve_alive_exits_0_while_redis_is_down(down: Stack) -> None:
    """`shipbot serve --alive` (docker compose's health check) exits 0 while Redis is down."""
    command = [sys.executable, "-m", "bot.app.cli", "serve", "--alive", "--port", str(down.port)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (0, "") == (result.returncode, result.stderr)


def test_bot_works_again_when_redis_returns_without_restart(fragile: Stack) -> None:
    """Stop Redis, then start it: the bot and the worker (which posts the card) work again."""
    fragile.slack.reset()
    client = redis.Redis.from_url(fragile.redis.url)
    client.set("shipbot:probe", "kept")
    fragile.redis.stop()
    assert STORE_DOWN in reply_text(fragile.command("web-h5 v1.4.0 to prod"))
    fragile.redis.start()
    request_id = fragile.deploy("web-h5 v1.4.0 to prod")
    fragile.wait_card(request_id, "Waiting for approval")
    assert b"kept" == client.get("shipbot:probe")


def test_deploy_survives_redis_stopping_while_it_runs(fragile: Stack) -> None:
    """Redis stops mid-deploy and comes back: the deploy finishes and the card says so."""
    fragile.slack.reset()
    (fragile.workdir / "gate").unlink(missing_ok=True)
    request_id = fragile.deploy("slow v7 to staging")
    fragile.wait_card(request_id, "Deploying")
    fragile.redis.stop()
    time.sleep(3)
    fragile.redis.start()
    (fragile.workdir / "gate").touch()
    fragile.wait_card(request_id, "Deployed in")
    assert "Traceback" not in fragile.log("worker")
