"""shipbot as it runs in production, for end-to-end tests: `shipbot serve` and `shipbot worker`
as real processes, a private redis-server, FakeSlack for the Web API, and signed HTTP requests.
``start_socket()`` runs `shipbot socket` instead, linked to FakeSlack's Socket Mode."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_SIGNING_SECRET,
    FakeSlack,
    Message,
    RedisServer,
    SignedRequest,
    block_action,
    slash_command,
    view_submission,
)

CHANNEL = "C0DEPLOY"
RELEASES = "C0RELEASES"
PLAYBOOKS = Path(__file__).parent / "playbooks"
GITLAB_HOOK_SECRET = "gitlab-hook-secret-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    def __init__(
        self,
        workdir: Path,
        redis: RedisServer,
        slack: FakeSlack,
        catalog: Path,
        port: int | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.workdir, self.redis, self.slack, self.catalog = workdir, redis, slack, catalog
        self.port = port or free_port()
        self.settings = settings or {}  # more environment for the processes (GITLAB_URL, …)
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    # processes -------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The processes' environment; with REDIS_SENTINELS among ``settings``, Redis is found
        through Sentinel and REDIS_URL is not set (``redis`` is then the first master)."""
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
            "SLACK_APP_TOKEN": DEFAULT_APP_TOKEN,
            "SLACK_API_URL": self.slack.base_url,
            "REDIS_URL": self.redis.url,
            "SHIPBOT_CATALOG": str(self.catalog),
            "GITLAB_WEBHOOK_SECRET": GITLAB_HOOK_SECRET,
            "PYTHONUNBUFFERED": "1",
            **self.settings,
        }
        if "REDIS_SENTINELS" in self.settings:
            del env["REDIS_URL"]
        return env

    def start(self, worker: bool = True, processes: int = 1, timeout: float = 30.0) -> Stack:
        """`shipbot serve` (``--workers processes``), and a worker unless told not to."""
        port = ("--port", str(self.port), "--workers", str(processes))
        self._spawn("serve", "serve", "--host", "127.0.0.1", *port)
        if worker:
            self._spawn("worker", "worker")
        self._wait_healthy(timeout + 30.0 * processes)  # each process imports it all
        return self

    def spawn_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        """Start one more `shipbot worker` process, logging to ``<name>.log``."""
        self._spawn(name, "worker")
        return self.processes[name]

    def start_socket(self, worker: bool = True) -> Stack:
        """`shipbot socket` instead of `serve`; returns once it has linked to FakeSlack."""
        opened = self.slack.socket.opened
        self._spawn("socket", "socket")
        if worker:
            self._spawn("worker", "worker")
        self._wait_linked(opened)
        return self

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        command = [sys.executable, "-m", "bot.app.cli", *args]
        self.processes[name] = subprocess.Popen(
            command, cwd=self.workdir, env=self.env(), stdout=log, stderr=subprocess.STDOUT
        )

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("shipbot serve did not become healthy:\n" + self.log("serve"))

    def _wait_linked(self, opened_before: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.slack.socket.opened <= opened_before:
            if time.monotonic() > deadline or self.processes["socket"].poll() is not None:
                raise RuntimeError("shipbot socket did not connect:\n" + self.log("socket"))
            time.sleep(0.1)

    # talking to the bot ------------------------------------------------------------
    def send(self, request: SignedRequest) -> httpx.Response:
        return httpx.post(
            f"{self.url}/slack/events", content=request.body, headers=request.headers, timeout=10
        )

    def gitlab_hook(
        self, payload: object, event: str, token: str = GITLAB_HOOK_SECRET
    ) -> httpx.Response:
        """POST a webhook as GitLab sends it (X-Gitlab-Event, X-Gitlab-Token, JSON body)."""
        headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": token}
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
        return httpx.post(f"{self.url}/gitlab/webhook", content=body, headers=headers, timeout=10)

    def command(
        self, text: str, user: str = "U0DEV", command: str = "/deploy", channel: str = CHANNEL
    ) -> httpx.Response:
        return self.send(slash_command(command, text, user, channel))

    def deploy(self, text: str, user: str = "U0DEV", channel: str = CHANNEL) -> str:
        """Send /deploy and return the request id from the ephemeral answer."""
        return _request_id(self.command(text, user, channel=channel))

    def rollback(self, text: str, user: str = "U0DEV") -> str:
        """Send /rollback and return the request id from the ephemeral answer."""
        return _request_id(self.command(text, user, command="/rollback"))

    def deployed(self, text: str) -> str:
        """Send /deploy (needing no approval) and wait until it is done; returns its id."""
        request_id = self.deploy(text)
        self.wait_card(request_id, "Deployed in")
        return request_id

    def click(self, action_id: str, request_id: str, user: str) -> httpx.Response:
        card = self.card(request_id)
        return self.send(block_action(user, action_id, request_id, card.ts, CHANNEL))

    def modal(self, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The newest modal opened about this request (views.open, as Slack answered it)."""

        def opened() -> dict[str, Any] | None:
            views = self.slack.views()
            found = [v for v in views if request_id in v.get("private_metadata", "")]
            return found[-1] if found else None

        return self.slack.wait_for(opened, timeout)

    def submit(
        self, view: dict[str, Any], user: str, values: dict[str, dict[str, str]]
    ) -> httpx.Response:
        """Submit a modal as ``user``, having typed ``values`` ({block_id: {action_id: text}})."""
        return self.send(view_submission(user, view, values))

    # what Slack was told -----------------------------------------------------------
    def card(self, request_id: str, timeout: float = 10.0) -> Message:
        return self.slack.wait_for(lambda: self._find_card(request_id), timeout)

    def card_text(self, request_id: str) -> str:
        return json.dumps(self.card(request_id).blocks, ensure_ascii=False)

    def wait_card(self, request_id: str, fragment: str, timeout: float = 60.0) -> str:
        """Wait until the card's blocks contain ``fragment``; returns the card's JSON."""

        def shows_fragment() -> str | None:
            card = self._find_card(request_id)
            text = json.dumps(card.blocks, ensure_ascii=False) if card else ""
            return text if fragment in text else None

        return self.slack.wait_for(shows_fragment, timeout)

    def ephemerals(self, user: str) -> list[str]:
        return [
            c.args.get("text", "")
            for c in self.slack.calls("chat.postEphemeral")
            if c.args.get("user") == user
        ]

    def releases(self, request_id: str) -> list[Message]:
        """Release notes of this request (a previous test's deploy may still be announcing)."""
        return [m for m in self.slack.messages(RELEASES) if request_id in json.dumps(m.blocks)]

    def thread(self, request_id: str) -> list[Message]:
        """Replies in the thread of this request's card."""
        ts = self.card(request_id).ts
        return [m for m in self.slack.messages(CHANNEL) if m.thread_ts == ts]

    def _find_card(self, request_id: str) -> Message | None:
        for message in self.slack.messages(CHANNEL):
            if message.blocks and request_id in json.dumps(message.blocks):
                return message
        return None


def _request_id(answer: httpx.Response) -> str:
    found = re.search(r"`(d-[a-z0-9]+)`", reply_text(answer))
    assert found, f"no request id in {answer.text!r}"
    return found.group(1)


def reply_text(response: httpx.Response) -> str:
    if not response.content:
        return ""
    body: Any = response.json()
    return str(body.get("text", ""))
