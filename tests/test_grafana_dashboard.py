"""The example Grafana dashboard (examples/grafana/shipbot.json) queries only metrics that
GET /metrics exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

import bot.app.server  # noqa: F401 - registers the process's Slack request counters
from bot.app.prometheus import exposition
from tests.test_prometheus import TALLY

DASHBOARD = Path(__file__).parents[1] / "examples" / "grafana" / "shipbot.json"
METRIC = re.compile(r"\bshipbot_[a-z0-9_]+")
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL the dashboard runs: its panels' targets and its variables' queries."""
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    variables = dashboard["templating"]["list"]
    return exprs + [v["query"]["query"] for v in variables if v["type"] == "query"]


def queried_names(dashboard: dict[str, Any]) -> set[str]:
    return {name for expr in queries(dashboard) for name in METRIC.findall(expr)}


def exposed_names(text: str) -> set[str]:
    """The sample names a scrape can hold: from each family's type, so that a family with no
    samples yet (no Slack error so far) counts as exposed."""
    return {
        f.name + suffix
        for f in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(f.type, [""])
    }


def test_every_metric_the_dashboard_queries_is_exposed() -> None:
    """Each shipbot_* name in an expr or a variable is served by GET /metrics."""
    dashboard = json.loads(DASHBOARD.read_text())
    queried = queried_names(dashboard)
    assert set() == queried - exposed_names(exposition(TALLY).decode())


def test_every_panel_queries_a_shipbot_metric() -> None:
    """No panel queries something else (a name this test would not check)."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert [] == [e for e in exprs if not METRIC.search(e)]


def test_the_dashboard_shows_what_the_issue_lists() -> None:
    """Deploy rate, change fail rate, lead time p50/p90, duration, approval wait, queue depth,
    workers alive and Slack errors each have a panel."""
    dashboard = json.loads(DASHBOARD.read_text())
    expected = {
        "shipbot_deploys_total",
        "shipbot_change_lead_time_seconds_bucket",
        "shipbot_deploy_duration_seconds_bucket",
        "shipbot_approval_wait_seconds_bucket",
        "shipbot_queue_depth",
        "shipbot_workers_alive",
        "shipbot_slack_api_errors_total",
    }
    assert expected <= queried_names(dashboard)
