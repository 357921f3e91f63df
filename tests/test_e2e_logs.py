"""End to end: `shipbot serve` and `shipbot worker` started with SHIPBOT_LOG_FORMAT=json log
one JSON object per line, and a deploy's records carry its request id, service and
environment. Its own redis-server and processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LEAKED_BEARER, LEAKED_TOKEN, write_catalog
from tests.fakes import FakeSlack, RedisServer
from tests.fakes.http_server import poll
from tests.stack import Stack


@pytest.fixture(scope="module")
def json_logs(tmp_path_factory: pytest.TempPathFactory, fake_slack: FakeSlack) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("json-logs")
    with RedisServer() as server:
        settings = {"SHIPBOT_LOG_FORMAT": "json"}
        stack = Stack(workdir, server, fake_slack, write_catalog(workdir), settings=settings)
        yield stack.start()
        stack.stop()


def logged(stack: Stack, name: str) -> list[str]:
    """The process's complete log lines (a line being written is left for the next look)."""
    text = stack.log(name)
    return text.splitlines()[: text.count("\n")]


def records(stack: Stack, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logged(stack, name)]


def test_a_deploy_is_logged_as_json_with_its_request(json_logs: Stack) -> None:
    """A deploy whose playbook fails printing a GitLab token and a bearer token: the worker
    logs, as JSON, that it ended, with the request's id, service and environment; every line
    either process logged is a JSON object; neither token is in any log."""
    json_logs.slack.reset()
    request_id = json_logs.deploy("leaky v1 to staging")
    json_logs.wait_card(request_id, "Failed")

    def ended() -> list[dict[str, Any]]:
        return [r for r in records(json_logs, "worker") if r.get("request_id") == request_id]

    ours = poll(ended, 30, lambda: AssertionError(json_logs.log("worker")))
    expected = {"level": "info", "event": f"request {request_id} ended: failed"}
    expected |= {"request_id": request_id, "service": "leaky", "environment": "staging"}
    assert expected.items() <= ours[-1].items()
    lines = logged(json_logs, "serve") + logged(json_logs, "worker")
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert [] == [line for line in lines if LEAKED_TOKEN in line or LEAKED_BEARER in line]
