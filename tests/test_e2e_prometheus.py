"""End to end: GET /metrics of two `shipbot serve` processes over one Redis, after a deploy that
succeeded and one that failed, run by a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import write_catalog
from tests.fakes import FakeSlack, RedisServer
from tests.stack import Stack
from tests.test_grafana_dashboard import DASHBOARD, exposed_names, queried_names
from tests.waiting import until

Counts = dict[tuple[str, ...], float]
EXPECTED = {
    ("web-h5", "staging", "deploy", "succeeded"): 1.0,
    ("risky", "prod", "deploy", "failed"): 1.0,
}


@pytest.fixture
def replica(bot: Stack, tmp_path: Path) -> Iterator[Stack]:
    """A second `shipbot serve` (no worker) over the running stack's Redis."""
    other = Stack(tmp_path, bot.redis, bot.slack, bot.catalog, settings=bot.settings)
    yield other.start(worker=False)
    other.stop()


@pytest.fixture
def leased(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[tuple[Stack, Stack]]:
    """`shipbot serve` and a worker whose leases last 4 s (renewed every second), and a second
    `shipbot serve`, over a redis-server of their own."""
    fake_slack.reset()
    with RedisServer() as server:
        catalog, settings = write_catalog(tmp_path), {"SHIPBOT_LEASE_SECONDS": "4"}
        first = Stack(tmp_path, server, fake_slack, catalog, settings=settings).start()
        second = Stack(tmp_path / "second", server, fake_slack, catalog, settings=settings)
        second.workdir.mkdir()
        yield first, second.start(worker=False)
        second.stop()
        first.stop()


@pytest.fixture
def fragile(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Stack]:
    """`shipbot serve` alone, over a redis-server of its own that the test stops."""
    with RedisServer() as server:
        stack = Stack(tmp_path, server, fake_slack, write_catalog(tmp_path))
        yield stack.start(worker=False)
        stack.stop()


async def scrape(stack: Stack) -> str:
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"{stack.url}/metrics")
    assert 200 == answer.status_code, answer.text
    return answer.text


def deploys(text: str) -> Counts:
    """shipbot_deploys_total by (service, environment, action, outcome)."""
    labels = ("service", "environment", "action", "outcome")
    return {
        tuple(s.labels[k] for k in labels): s.value
        for f in text_string_to_metric_families(text)
        if f.name == "shipbot_deploys"
        for s in f.samples
        if s.name == "shipbot_deploys_total"
    }


def durations(text: str) -> Counts:
    """How many runs shipbot_deploy_duration_seconds holds, by (service, environment)."""
    return {
        (s.labels["service"], s.labels["environment"]): s.value
        for f in text_string_to_metric_families(text)
        if f.name == "shipbot_deploy_duration_seconds"
        for s in f.samples
        if s.name.endswith("_count")
    }


async def test_every_replica_shows_the_same_deploy_counts(bot: Stack, replica: Stack) -> None:
    """One deploy succeeded and one failed: both replicas' /metrics count exactly those, by
    service, environment, action and outcome, with one duration each."""
    succeeded = bot.deploy("web-h5 v1.4.0 to staging")
    failed = bot.deploy("risky v9.9.9 to prod")
    bot.wait_card(succeeded, "Deployed in")
    bot.wait_card(failed, "Failed")
    await until(lambda: _ended(bot, 2), "two runs counted in /metrics")
    first, second = await scrape(bot), await scrape(replica)
    expected = (EXPECTED, {("web-h5", "staging"): 1.0, ("risky", "prod"): 1.0})
    assert expected == (deploys(first), durations(first))
    assert expected == (deploys(second), durations(second))


async def test_the_running_bot_exposes_every_metric_the_dashboard_queries(bot: Stack) -> None:
    """The example Grafana dashboard's metrics are all in a live scrape."""
    queried = queried_names(json.loads(DASHBOARD.read_text()))
    assert set() == queried - exposed_names(await scrape(bot))


def worker_figures(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the shipbot_worker_* families, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(text)
        if f.name.startswith("shipbot_worker_")
        for s in f.samples
    }


def figure(
    figures: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_every_replica_shows_the_same_worker_figures(leased: tuple[Stack, Stack]) -> None:
    """A worker runs a deploy held open by its playbook: /metrics shows one job running and
    its lease renewed; once it ended, both replicas show the same worker figures: no job
    running, one run_deploy that ended ok, renewals and none lost."""
    bot, replica = leased
    request_id = bot.deploy("slow v1 to staging")
    bot.wait_card(request_id, "Deploying")
    running = await until(lambda: _running(bot), "a job running and a lease renewed", 30)
    (bot.workdir / "gate").touch()
    bot.wait_card(request_id, "Deployed in")
    first, second = await until(lambda: _settled(bot, replica), "both replicas agree", 30)
    deploy = {"function": "run_deploy", "outcome": "ok"}
    expected = (1.0, 1.0, 0.0, 0.0, True)
    actual = (
        figure(running, "shipbot_worker_jobs_running"),
        figure(first, "shipbot_worker_job_duration_seconds_count", **deploy),
        figure(first, "shipbot_worker_jobs_running"),
        figure(first, "shipbot_worker_lease_renewals_total", outcome="lost"),
        figure(first, "shipbot_worker_lease_renewals_total", outcome="renewed") >= 1,
    )
    assert expected == actual
    assert first == second


async def _running(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    figures = worker_figures(await scrape(stack))
    renewed = figure(figures, "shipbot_worker_lease_renewals_total", outcome="renewed")
    return figures if figure(figures, "shipbot_worker_jobs_running") and renewed else None


async def _settled(bot: Stack, replica: Stack) -> tuple[dict[Any, float], dict[Any, float]] | None:
    """Both replicas' worker figures, once the deploy's end is counted and they agree."""
    first, second = worker_figures(await scrape(bot)), worker_figures(await scrape(replica))
    deploy = {"function": "run_deploy", "outcome": "ok"}
    ended = figure(first, "shipbot_worker_job_duration_seconds_count", **deploy)
    return (first, second) if ended and first == second else None


async def _ended(stack: Stack, runs: int) -> bool:
    return sum(deploys(await scrape(stack)).values()) >= runs


async def test_redis_down_is_a_503_and_back_is_a_200(fragile: Stack) -> None:
    """Redis stopped: /metrics answers 503 with one short line and logs no traceback; once
    Redis is back the same process answers 200 again."""
    fragile.redis.stop()
    async with httpx.AsyncClient(timeout=10) as client:
        down = await client.get(f"{fragile.url}/metrics")
        fragile.redis.start()
        back = await until(lambda: _ok(client, fragile.url), "/metrics answering 200 again")
    assert (503, "redis unreachable\n") == (down.status_code, down.text)
    assert "shipbot_workers_alive 0.0" in back.text
    assert "Traceback" not in fragile.log("serve")


async def _ok(client: httpx.AsyncClient, url: str) -> httpx.Response | None:
    answer = await client.get(f"{url}/metrics")
    return answer if answer.status_code == 200 else None
