"""End to end: GET /metrics of two `shipbot serve` processes over one Redis, after a deploy that
succeeded and one that failed, run by a real worker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

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


async def _ended(stack: Stack, runs: int) -> bool:
    return sum(deploys(await scrape(stack)).values()) >= runs
