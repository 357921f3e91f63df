"""End to end: how `shipbot serve` and `shipbot socket` start when Slack refuses the bot token,
when Slack cannot be reached, and when Redis is down; and that a Slack outage after start
does not break the answers to commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_catalog
from tests.fakes import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_SIGNING_SECRET,
    FakeSlack,
    RedisServer,
    slash_command,
)
from tests.stack import free_port


class Started:
    """One `shipbot` process, its output in a file, stopped at the end of the test."""

    def __init__(self, workdir: Path, command: str, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{command}.log"
        if command == "serve":
            args = ("--host", "127.0.0.1", "--port", str(self.port), *args)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.app.cli", command, *args],
                cwd=workdir,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, fragment: str, count: int = 1, timeout: float = 30.0) -> str:
        """Wait until ``fragment`` appears ``count`` times in the output; returns the output."""
        deadline = time.monotonic() + timeout
        while (log := self.log()).count(fragment) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{fragment!r} x{count} not logged in {timeout}s:\n{log}")
            time.sleep(0.05)
        return log

    def wait_exit(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


Start = Callable[..., Started]


@pytest.fixture
def shipbot(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Start]:
    """Start `shipbot <command>` with the test settings plus ``env`` (Redis on a closed port
    unless given)."""
    started: list[Started] = []

    def start(command: str, *args: str, **env: str) -> Started:
        settings = {
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
            "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
            "SLACK_API_URL": fake_slack.base_url,
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "SHIPBOT_CATALOG": str(write_catalog(tmp_path)),
            **env,
        }
        started.append(Started(tmp_path, command, settings, *args))
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_refused_bot_token_stops_the_process_naming_it(shipbot: Start, command: str) -> None:
    """A bot token Slack refuses (auth.test: invalid_auth) stops serve and socket at once,
    non-zero, with a message naming SLACK_BOT_TOKEN and Slack's reason."""
    process = shipbot(command, SLACK_BOT_TOKEN="xoxb-revoked-token")
    assert 1 == process.wait_exit()
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in process.log()
    assert "Traceback" not in process.log()


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_unreachable_slack_is_retried_with_backoff(shipbot: Start, command: str) -> None:
    """Slack unreachable at start: the process keeps trying, and says so with each delay."""
    process = shipbot(command, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    log = process.wait_log("retrying in", count=2, timeout=15)
    assert "Slack's Web API is unreachable" in log
    assert "retrying in 1 s" in log and "retrying in 2 s" in log
    assert process.process.poll() is None


def test_serve_with_redis_down_says_so_and_serves(shipbot: Start) -> None:
    """Redis down at start: the log says so, and serve listens anyway (/healthz answers 503)."""
    process = shipbot("serve")
    log = process.wait_log("listening on")
    assert "Redis is unreachable" in log
    assert 503 == httpx.get(f"{process.url}/healthz", timeout=5).status_code


@pytest.fixture
def own_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def shipbot_help(url: str) -> httpx.Response:
    request = slash_command("/shipbot", "help", "U0DEV")
    return httpx.post(
        f"{url}/slack/events", content=request.body, headers=request.headers, timeout=10
    )


def test_serve_with_workers_checks_the_token_once_and_says_where_it_listens_once(
    shipbot: Start, own_slack: FakeSlack, redis_server: RedisServer
) -> None:
    """`serve --workers 2`: one auth.test (in the parent), one listening line, and both HTTP
    processes answer without asking Slack again."""
    process = shipbot(
        "serve", "--workers", "2", SLACK_API_URL=own_slack.base_url, REDIS_URL=redis_server.url
    )
    process.wait_log("listening on")
    answers = [shipbot_help(process.url).status_code for _ in range(20)]
    assert [200] * 20 == answers
    assert 1 == len(own_slack.calls("auth.test"))
    lines = process.log().splitlines()
    assert [f"shipbot serve: listening on {process.url}"] == [
        line.split(": ", 1)[1] for line in lines if "uvicorn" in line.lower() or "listen" in line
    ]


def test_slack_outage_after_start_does_not_break_answers(
    shipbot: Start,
    own_slack: FakeSlack,
    redis_server: RedisServer,
) -> None:
    """The token is checked once, at start: when Slack then goes away, /shipbot help is
    still answered (Bolt does not call auth.test on the first request)."""
    process = shipbot("serve", SLACK_API_URL=own_slack.base_url, REDIS_URL=redis_server.url)
    process.wait_log("listening on")
    assert 1 == len(own_slack.calls("auth.test"))
    own_slack.stop()
    answer = shipbot_help(process.url)
    assert 200 == answer.status_code and "/deploy" in answer.json()["text"]
