"""Shared fixtures: a private redis-server, FakeSlack, and shipbot running as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.fakes import FakeSlack, RedisServer
from tests.fakes.health import HealthServer
from tests.stack import PLAYBOOKS, Stack

APPROVERS = ["U0ALICE", "U0BOB", "U0CAROL"]
CROWD = [f"U0CROWD{i:02d}" for i in range(20)]


def write_catalog(directory: Path, health_url: str = "http://127.0.0.1:9/{datacenter}") -> Path:
    """The end-to-end catalog: real playbooks under tests/playbooks, run against localhost."""
    marker = directory / "marker.log"
    gate = directory / "gate"
    text = f"""
notify:
  releases_channel: C0RELEASES
services:
  web-h5:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      staging: {{approvals: 0}}
      prod:
        approvals: 2
        approvers: [{", ".join(APPROVERS)}, S0CHANGE]
        datacenters: [dc-a, dc-b]
  risky:
    deployer: ansible
    playbook: {PLAYBOOKS / "fail_in.yml"}
    vars: {{marker_file: "{marker}", fail_dc: dc-a}}
    environments:
      prod: {{approvals: 0, datacenters: [dc-a, dc-b]}}
  slow:
    deployer: ansible
    playbook: {PLAYBOOKS / "slow.yml"}
    vars: {{marker_file: "{marker}", gate_file: "{gate}"}}
    environments:
      staging: {{approvals: 0}}
  api:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      prod: {{approvals: 2, approvers: [{", ".join(APPROVERS)}], rollback_approvals: 1}}
  guarded:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      prod:
        datacenters: [dc-a, dc-b]
        health_check:
          url: "{health_url}"
          successes: 2
          interval_seconds: 0.1
          timeout_seconds: 1
          max_attempts: 4
      qa:
        datacenters: [dc-a, dc-b]
        rollback_on_failure: false
        health_check: {{url: "{health_url}", successes: 1, interval_seconds: 0.1, max_attempts: 2}}
  crowd:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      prod:
        approvals: 2
        approvers: [{", ".join(CROWD)}]
"""
    path = directory / "catalog.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(scope="session")
def health() -> Iterator[HealthServer]:
    with HealthServer() as server:
        yield server


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    fake_slack: FakeSlack,
    health: HealthServer,
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("shipbot")
    catalog = write_catalog(workdir, health.url)
    running = Stack(workdir, redis_server, fake_slack, catalog).start()
    yield running
    running.stop()


@pytest.fixture
def bot(stack: Stack, health: HealthServer) -> Iterator[Stack]:
    """The running stack with empty Redis, a quiet FakeSlack, healthy data centres and no
    marker lines."""
    redis.Redis.from_url(stack.redis.url).flushdb()
    stack.slack.reset()
    health.reset()
    for name in ("marker.log", "gate"):
        (stack.workdir / name).unlink(missing_ok=True)
    yield stack


def marker_lines(stack: Stack) -> list[str]:
    path = stack.workdir / "marker.log"
    return path.read_text().splitlines() if path.exists() else []
