"""The liveness file (bot/app/liveness.py): a worker's heartbeat touches it, Redis or not, and
so does `shipbot socket` from its start, Slack or not; `shipbot worker --alive` and `shipbot
socket --alive`, the exec probes, say whether it is fresh. `shipbot serve --alive` asks
GET /livez (bot/app/alive.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import heartbeat, liveness
from bot.app.heartbeat import keep_heartbeat
from bot.store.requests import RedisStore, connect

DEMO = Path(__file__).parent.parent / "examples" / "demo" / "catalog.yaml"


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shipbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SHIPBOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
    )


def aged(path: Path, seconds: float) -> Path:
    """``path``, last touched ``seconds`` ago."""
    path.touch()
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_a_file_touched_just_now_is_fresh(tmp_path: Path) -> None:
    """A liveness file touched now is fresh: no reason to call the worker stuck."""
    path = tmp_path / "alive"
    liveness.touch(path)
    assert liveness.staleness(path, time.time()) is None


def test_a_file_a_minute_old_is_stale(tmp_path: Path) -> None:
    """A liveness file last touched 61 seconds ago is stale, and the reason gives its age."""
    path = tmp_path / "alive"
    path.touch()
    os.utime(path, (1_000_000, 1_000_000))
    reason = liveness.staleness(path, 1_000_061)
    assert f"{path} was last touched 61 s ago (more than 60 s)" == reason


def test_a_missing_file_is_stale(tmp_path: Path) -> None:
    """No liveness file means no worker has beaten: stale, and the reason says so."""
    path = tmp_path / "alive"
    reason = liveness.staleness(path, time.time())
    assert f"{path} does not exist: no worker has beaten in this container yet" == reason


def test_a_file_that_cannot_be_touched_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Touching a file in a missing directory logs a warning naming it, and raises nothing."""
    path = tmp_path / "missing" / "alive"
    with caplog.at_level(logging.WARNING, logger="bot.app.liveness"):
        liveness.touch(path)
    assert [f"could not touch the liveness file {path} (No such file or directory)"] == [
        r.getMessage() for r in caplog.records
    ]


async def test_the_heartbeat_touches_the_file_again_and_again_while_redis_is_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's heartbeat keeps touching its liveness file while Redis does not answer: not
    once, but beat after beat. (Beats every 50 ms here; the file is aged an hour after each
    touch, and each time a later beat touches it again.)"""
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.05)
    path = tmp_path / "alive"
    redis = connect(f"redis://127.0.0.1:{closed_port()}/0")
    beat = asyncio.create_task(keep_heartbeat(RedisStore(redis), "worker:test", alive_file=path))
    touches = 0
    try:
        async with asyncio.timeout(30):
            while not path.exists():
                await asyncio.sleep(0.01)
            for _ in range(3):
                an_hour_ago = time.time() - 3600
                os.utime(path, (an_hour_ago, an_hour_ago))
                while path.stat().st_mtime <= an_hour_ago:
                    await asyncio.sleep(0.01)
                touches += 1
    finally:
        beat.cancel()
        await redis.aclose()
    assert (3, None) == (touches, liveness.staleness(path, time.time()))


def test_alive_exits_0_for_a_fresh_file(tmp_path: Path) -> None:
    """`shipbot worker --alive` exits 0, silently, when the file is fresh."""
    path = aged(tmp_path / "alive", 5)
    result = shipbot("worker", "--alive", env={"SHIPBOT_ALIVE_FILE": str(path)})
    assert (0, "", "") == (result.returncode, result.stdout, result.stderr)


def test_alive_exits_1_with_one_line_for_a_stale_file(tmp_path: Path) -> None:
    """`shipbot worker --alive` exits 1 with one line saying why when the file is stale."""
    path = aged(tmp_path / "alive", 3600)
    result = shipbot("worker", "--alive", env={"SHIPBOT_ALIVE_FILE": str(path)})
    said = re.sub(r"touched \d+ s ago", "touched N s ago", result.stderr)
    expected = f"shipbot worker: not alive: {path} was last touched N s ago (more than 60 s)\n"
    assert (1, expected) == (result.returncode, said)


def test_alive_needs_no_other_setting(tmp_path: Path) -> None:
    """`shipbot worker --alive` reads only SHIPBOT_ALIVE_FILE: without tokens, Redis or a
    catalog it still answers (here: stale, as the file is missing)."""
    path = tmp_path / "alive"
    result = shipbot("worker", "--alive", env={"SHIPBOT_ALIVE_FILE": str(path)})
    reason = f"{path} does not exist: no worker has beaten in this container yet"
    assert (1, f"shipbot worker: not alive: {reason}\n") == (result.returncode, result.stderr)


@pytest.mark.parametrize("command", ["serve", "socket", "worker"])
def test_help_names_alive(command: str) -> None:
    """`shipbot serve|socket|worker --help` describes --alive."""
    result = shipbot(command, "--help", env={})
    assert "--alive" in result.stdout


def test_socket_alive_exits_0_for_a_fresh_file(tmp_path: Path) -> None:
    """`shipbot socket --alive` exits 0, silently, when the file is fresh."""
    path = aged(tmp_path / "alive", 5)
    result = shipbot("socket", "--alive", env={"SHIPBOT_ALIVE_FILE": str(path)})
    assert (0, "", "") == (result.returncode, result.stdout, result.stderr)


def test_socket_alive_exits_1_naming_the_socket_mode_bot(tmp_path: Path) -> None:
    """`shipbot socket --alive` with no file exits 1, saying no socket-mode bot has beaten."""
    path = tmp_path / "alive"
    result = shipbot("socket", "--alive", env={"SHIPBOT_ALIVE_FILE": str(path)})
    reason = f"{path} does not exist: no socket-mode bot has beaten in this container yet"
    assert (1, f"shipbot socket: not alive: {reason}\n") == (result.returncode, result.stderr)


def test_serve_alive_exits_1_when_nothing_answers() -> None:
    """`shipbot serve --alive` with nothing listening on SHIPBOT_PORT exits 1, one line naming
    the URL it asked."""
    port = closed_port()
    result = shipbot("serve", "--alive", env={"SHIPBOT_PORT": str(port)})
    said = f"shipbot serve: not alive: http://127.0.0.1:{port}/livez did not answer"
    assert (1, said) == (result.returncode, result.stderr.split(" (")[0])


class Process:
    """A real `shipbot worker` or `shipbot socket` process whose Redis (and Slack) do not
    answer."""

    def __init__(self, directory: Path, command: str = "worker") -> None:
        self.alive, self.log = directory / "alive", directory / f"{command}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "SHIPBOT_"))}
        env = {
            **clean,
            "SLACK_BOT_TOKEN": "xoxb-liveness-test",
            "SLACK_APP_TOKEN": "xapp-liveness-test",
            "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
            "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
            "SHIPBOT_CATALOG": str(DEMO),
            "SHIPBOT_ALIVE_FILE": str(self.alive),
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.app.cli", command],
                env=env,
                cwd=directory,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def wait_for(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        """Until ``ready()``; fails, with the process's log, if the process exits first or
        ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                raise AssertionError(f"the process exited first:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready within {timeout} s:\n{self.log.read_text()}")
            time.sleep(0.1)


@pytest.fixture
def worker_without_redis(tmp_path: Path) -> Iterator[Process]:
    yield from _running(Process(tmp_path, "worker"))


@pytest.fixture
def socket_without_slack(tmp_path: Path) -> Iterator[Process]:
    yield from _running(Process(tmp_path, "socket"))


def _running(process: Process) -> Iterator[Process]:
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.process.kill()
        process.process.wait()


def test_a_socket_mode_bot_waiting_for_slack_is_alive(socket_without_slack: Process) -> None:
    """`shipbot socket` touches its liveness file from its start, while it still waits for
    Slack (and Redis): `shipbot socket --alive` then exits 0."""
    bot = socket_without_slack
    bot.wait_for(bot.alive.exists)
    result = shipbot("socket", "--alive", env={"SHIPBOT_ALIVE_FILE": str(bot.alive)})
    assert (0, "") == (result.returncode, result.stderr)


def test_a_worker_waiting_for_redis_is_alive(worker_without_redis: Process) -> None:
    """A worker started while Redis is unreachable touches its liveness file as it waits, so
    the probe does not restart it for Redis's absence."""
    worker_without_redis.wait_for(worker_without_redis.alive.exists)
    result = shipbot(
        "worker", "--alive", env={"SHIPBOT_ALIVE_FILE": str(worker_without_redis.alive)}
    )
    assert (0, "") == (result.returncode, result.stderr)


def test_a_worker_waiting_for_redis_stops_at_sigterm(worker_without_redis: Process) -> None:
    """SIGTERM stops a worker that is waiting to retry Redis (it has no deploy to finish): it
    exits 0 long before its 300-second stop grace, instead of waiting to be killed."""
    worker = worker_without_redis
    worker.wait_for(lambda: "retrying in" in worker.log.read_text())
    worker.process.send_signal(signal.SIGTERM)
    assert 0 == worker.process.wait(timeout=60)
