"""Shared fixtures: a private redis-server, FakeSlack, and shipbot running as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from bot.store.keys import Keys
from bot.store.requests import RedisStore, connect
from tests.fakes import (
    FakeArgoCD,
    FakeGitLab,
    FakeKubernetes,
    FakeSlack,
    HealthServer,
    RedisServer,
)
from tests.run_kit import LEASE_SECONDS, Kit, build_kit
from tests.stack import GITLAB_HOOK_SECRET, PLAYBOOKS, Stack

APPROVERS = ["U0ALICE", "U0BOB", "U0CAROL"]
CROWD = [f"U0CROWD{i:02d}" for i in range(20)]
GITLAB_TOKEN = "glpat-e2e-0123456789abcdef"
GITLAB_PROJECT = "payments/pay"
SHOP_PROJECT = "shop/web"  # the code of the `shop` service, whose releases list changes
ARGOCD_TOKEN = "argocd-e2e-token"
VERSIONS = ("v1", "v2", "v3")
TRADE_IMAGE = "registry.example/trading/trade"
LEAKED_TOKEN = "glpat-Leaked0123456789abcd"  # what tests/playbooks/leak.yml prints on failure
LEAKED_BEARER = "k8s-s3cr3t-b34r3r-t0k3n"
SLEEPY_TIMEOUT = 5  # seconds sleepy's playbook may run in staging (it sleeps for a minute)


def write_catalog(
    directory: Path, health_url: str = "http://127.0.0.1:9/{datacenter}", tools: str = ""
) -> Path:
    """The end-to-end catalog: real playbooks under tests/playbooks, run against localhost,
    and the `tools` services (see `tool_services`)."""
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
      prod: {{approvals: 1, approvers: [U0ALICE, U0BOB]}}
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
  flaky:
    deployer: ansible
    playbook: {PLAYBOOKS / "fail_if.yml"}
    vars: {{marker_file: "{marker}", fail_dc: dc-b, fail_file: "{directory / "fail"}"}}
    environments:
      prod: {{approvals: 0, datacenters: [dc-a, dc-b]}}
  leaky:
    deployer: ansible
    playbook: {PLAYBOOKS / "leak.yml"}
    vars: {{leaked_token: "{LEAKED_TOKEN}", leaked_bearer: "{LEAKED_BEARER}"}}
    environments:
      staging: {{approvals: 0}}
  sleepy:
    deployer: ansible
    playbook: {PLAYBOOKS / "sleep.yml"}
    vars: {{pid_file: "{directory}/pids-{{{{ shipbot_request_id }}}}"}}
    ansible: {{timeout_seconds: 600}}
    environments:
      staging:
        approvals: 0
        ansible: {{timeout_seconds: {SLEEPY_TIMEOUT}}}
  shop:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    source: {{gitlab_project: {SHOP_PROJECT}, tag_format: "release-{{version}}"}}
    environments:
      prod:
        approvals: 1
        approvers: [{", ".join(APPROVERS)}]
        datacenters: [dc-a, dc-b]
  crowd:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      prod:
        approvals: 2
        approvers: [{", ".join(CROWD)}]
  gov:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    vars: {{marker_file: "{marker}"}}
    environments:
      prod:
        deployers: [U0DEV, S0DEVS]
        approval_rules:
          - {{name: Change management, approvals: 1, approvers: [S0CHANGE]}}
          - {{approvals: 1, approvers: [S0BIZ, U0CTO]}}
      hot:
        approvals: 1
        approvers: [U0ALICE, U0BOB]
        emergency: {{approvers: [S0ONCALL]}}
        freeze:
          windows: [{{from: "2000-01-01 00:00", to: "2999-12-31 00:00", reason: always}}]
"""
    path = directory / "catalog.yaml"
    path.write_text(text + tools)
    return path


def tool_services(argo: dict[str, str], kube: dict[str, str]) -> str:
    """Services deployed through the fakes of GitLab, Argo CD and Kubernetes (``argo`` and
    ``kube``: the URL of each data centre's), in two data centres each; GitLab's project is
    GITLAB_PROJECT and its environment `production`."""
    return f"""
  trade:
    deployer: kubernetes
    kubernetes:
      deployment: trade
      containers: [app]
      image: {TRADE_IMAGE}
      namespace: trading
      timeout_seconds: 30
    environments:
      prod:
        datacenters:
          dc-a: {{kubernetes: {{api_url: "{kube["dc-a"]}"}}}}
          dc-b: {{kubernetes: {{api_url: "{kube["dc-b"]}"}}}}
  pay:
    deployer: gitlab
    gitlab: {{project: {GITLAB_PROJECT}, variables: {{TEAM: payments}}}}
    environments:
      prod:
        datacenters: [dc-a, dc-b]
        gitlab: {{environment: production}}
  risk:
    deployer: argocd
    environments:
      prod:
        datacenters:
          dc-a: {{argocd: {{server: "{argo["dc-a"]}", application: risk-dc-a}}}}
          dc-b: {{argocd: {{server: "{argo["dc-b"]}", application: risk-dc-b}}}}
"""


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis for tests that talk to the store themselves: no shipbot process uses it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    """A RedisStore on the session's redis-server, emptied first."""
    client = connect(redis_server.url)
    await client.flushdb()
    yield RedisStore(client)
    await client.aclose()


@pytest.fixture
async def kit(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Kit]:
    """The run kit (tests/run_kit.py) on the session's redis-server, emptied first."""
    client = connect(redis_server.url)
    await client.flushdb()
    yield build_kit(tmp_path, RedisStore(client, lease_seconds=LEASE_SECONDS, lease_grace=0))
    await client.aclose()


@pytest.fixture(scope="session")
def stack_redis() -> Iterator[RedisServer]:
    """The running stack's own Redis: its workers' periodic jobs (the sweep, the lease watch)
    never touch what a unit test stores in ``redis_server``."""
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
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=GITLAB_TOKEN, hook_token=GITLAB_HOOK_SECRET) as fake:
        yield fake


@pytest.fixture(scope="session")
def argo() -> Iterator[dict[str, FakeArgoCD]]:
    """One Argo CD per data centre."""
    with FakeArgoCD(token=ARGOCD_TOKEN) as dc_a, FakeArgoCD(token=ARGOCD_TOKEN) as dc_b:
        yield {"dc-a": dc_a, "dc-b": dc_b}


@pytest.fixture(scope="session")
def kube() -> Iterator[dict[str, FakeKubernetes]]:
    """One Kubernetes API server per data centre, its controller rolling out by itself."""
    with FakeKubernetes(progress="auto") as dc_a, FakeKubernetes(progress="auto") as dc_b:
        yield {"dc-a": dc_a, "dc-b": dc_b}


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    stack_redis: RedisServer,
    fake_slack: FakeSlack,
    health: HealthServer,
    gitlab: FakeGitLab,
    argo: dict[str, FakeArgoCD],
    kube: dict[str, FakeKubernetes],
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("shipbot")
    urls = [{dc: fake.url for dc, fake in fakes.items()} for fakes in (argo, kube)]
    catalog = write_catalog(workdir, health.url, tool_services(*urls))
    settings = {"GITLAB_URL": gitlab.url, "GITLAB_TOKEN": GITLAB_TOKEN}
    settings["ARGOCD_TOKEN"] = ARGOCD_TOKEN
    running = Stack(workdir, stack_redis, fake_slack, catalog, settings=settings)
    gitlab.hook_url = f"{running.url}/gitlab/webhook"
    yield running.start()
    running.stop()


@pytest.fixture
def bot(
    stack: Stack,
    health: HealthServer,
    gitlab: FakeGitLab,
    argo: dict[str, FakeArgoCD],
    kube: dict[str, FakeKubernetes],
) -> Iterator[Stack]:
    """The running stack with empty Redis, a quiet FakeSlack, healthy data centres, no
    marker lines, GitLab with one project, and empty Argo CDs and Kubernetes clusters."""
    flush_keeping_workers(stack.redis.url)
    stack.slack.reset()
    health.reset()
    gitlab.reset()
    gitlab.add_project(GITLAB_PROJECT, refs=VERSIONS)
    for server in [*argo.values(), *kube.values()]:
        server.reset()
    for name in ("marker.log", "gate", "fail"):
        (stack.workdir / name).unlink(missing_ok=True)
    yield stack


def flush_keeping_workers(url: str, prefix: str = "shipbot") -> None:
    """Empty Redis, but keep the workers' heartbeats: the workers are still running."""
    client = redis.Redis.from_url(url, decode_responses=True)
    key = Keys(prefix).workers()
    workers = client.zrange(key, 0, -1, withscores=True)
    client.flushdb()
    if workers:
        client.zadd(key, dict(workers))
    client.close()


def marker_lines(stack: Stack) -> list[str]:
    path = stack.workdir / "marker.log"
    return path.read_text().splitlines() if path.exists() else []
