"""GET /metrics: a hand-built tally rendered by the collector and read back with
prometheus-client's own parser; the route's answers when Redis is there and when it is not."""

from __future__ import annotations

import dataclasses

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from starlette.applications import Starlette
from starlette.routing import Route

from bot.app.prometheus import endpoint, exposition
from bot.ports.metrics import NO_FIGURES, Histogram, Tally, WorkerFigures
from bot.ports.store import StoreUnavailable

BOUNDS = (30.0, 60.0, 120.0)
TALLY = Tally(
    deploys={
        ("web-h5", "prod", "deploy", "succeeded"): 7,
        ("web-h5", "prod", "deploy", "failed"): 2,
        ("web-h5", "prod", "rollback", "succeeded"): 1,
        ("api", "staging", "deploy", "rolled_back"): 3,
    },
    deploy_duration={("web-h5", "prod"): Histogram(BOUNDS, (1, 0, 4, 2), 1234.5)},
    approval_wait={("web-h5", "prod"): Histogram((60.0, 300.0), (2, 1, 0), 200.0)},
    lead_time={("api", "prod"): Histogram((3600.0,), (0, 5), 90000.0)},
    queue_depth=4,
    workers_alive=2,
)
EMPTY = Tally({}, {}, {}, {}, queue_depth=0, workers_alive=0)


def samples(text: str, family: str) -> list[Sample]:
    found = [f for f in text_string_to_metric_families(text) if f.name == family]
    assert 1 == len(found), f"{family} once in the output"
    return [Sample(s.name, s.labels, s.value) for s in found[0].samples]


def parsed(tally: Tally, family: str) -> list[Sample]:
    return samples(exposition(tally).decode(), family)


def test_deploy_counts_by_service_environment_action_and_outcome() -> None:
    """Each (service, environment, action, outcome) count is one shipbot_deploys_total sample."""
    name = "shipbot_deploys_total"
    expected = [
        Sample(name, {"service": s, "environment": e, "action": a, "outcome": o}, float(n))
        for (s, e, a, o), n in sorted(TALLY.deploys.items())
    ]
    assert expected == parsed(TALLY, "shipbot_deploys")


def test_histogram_counts_become_cumulative_buckets_with_inf_count_and_sum() -> None:
    """Non-cumulative counts 1, 0, 4, 2 over 30/60/120 s are buckets 1, 1, 5, 7 (+Inf), count
    7 and the kept sum."""
    pair = {"service": "web-h5", "environment": "prod"}
    name = "shipbot_deploy_duration_seconds"
    buckets = [("30.0", 1.0), ("60.0", 1.0), ("120.0", 5.0), ("+Inf", 7.0)]
    expected = [Sample(f"{name}_bucket", {**pair, "le": le}, n) for le, n in buckets]
    expected += [Sample(f"{name}_count", pair, 7.0), Sample(f"{name}_sum", pair, 1234.5)]
    assert expected == parsed(TALLY, name)


def test_approval_wait_and_lead_time_are_histograms_per_service_and_environment() -> None:
    """The approval wait and the lead time are read the same way as the deploy duration."""
    wait = parsed(TALLY, "shipbot_approval_wait_seconds")
    lead = parsed(TALLY, "shipbot_change_lead_time_seconds")
    expected = (
        [2.0, 3.0, 3.0, 3.0, 200.0],
        [0.0, 5.0, 5.0, 90000.0],
        {"service": "api", "environment": "prod", "le": "3600.0"},
    )
    assert expected == ([s.value for s in wait], [s.value for s in lead], lead[0].labels)


def test_queue_depth_and_workers_alive_are_gauges() -> None:
    """The queue's depth and the live workers are two unlabelled gauges."""
    expected = [Sample("shipbot_queue_depth", {}, 4.0), Sample("shipbot_workers_alive", {}, 2.0)]
    actual = parsed(TALLY, "shipbot_queue_depth") + parsed(TALLY, "shipbot_workers_alive")
    assert expected == actual


def test_an_empty_tally_still_declares_every_family() -> None:
    """Before any deploy the families are there, with no samples but the gauges' zeros."""
    families = {f.name: f for f in text_string_to_metric_families(exposition(EMPTY).decode())}
    names = ["shipbot_deploys", "shipbot_deploy_duration_seconds", "shipbot_approval_wait_seconds"]
    names += ["shipbot_change_lead_time_seconds"]
    expected = ([[], [], [], []], "counter", 0.0)
    actual = (
        [families[n].samples for n in names],
        families["shipbot_deploys"].type,
        families["shipbot_workers_alive"].samples[0].value,
    )
    assert expected == actual


def test_slack_errors_come_from_the_tally() -> None:
    """Slack Web API errors, every process's as the tally holds them, by method and error."""
    tally = dataclasses.replace(EMPTY, slack_errors={("chat.update", "ratelimited"): 3})
    errors = parsed(tally, "shipbot_slack_api_errors")
    labels = {"method": "chat.update", "error": "ratelimited"}
    assert [Sample("shipbot_slack_api_errors_total", labels, 3.0)] == [
        s for s in errors if s.name == "shipbot_slack_api_errors_total"
    ]


def test_process_counters_are_served_beside_the_tally() -> None:
    """This process's own counters (its Slack requests) come with the tally's."""
    assert [] == parsed(EMPTY, "shipbot_slack_requests")


class TallyStore:
    """The one store method the route reads; ``None`` for a Redis that is not there."""

    def __init__(self, tally: Tally | None) -> None:
        self._tally = tally

    async def tally(self) -> Tally:
        if self._tally is None:
            raise StoreUnavailable("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        return self._tally

    async def worker_figures(self) -> WorkerFigures:
        return NO_FIGURES


async def get_metrics(store: TallyStore) -> httpx.Response:
    app = Starlette(routes=[Route("/metrics", endpoint(store), methods=["GET"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shipbot") as client:
        return await client.get("/metrics")


async def test_the_route_serves_the_tally_in_prometheus_text_format() -> None:
    """GET /metrics answers 200, Prometheus' text content type, the store's tally."""
    answer = await get_metrics(TallyStore(TALLY))
    workers = samples(answer.text, "shipbot_workers_alive")
    expected = (200, "text/plain", [Sample("shipbot_workers_alive", {}, 2.0)])
    assert expected == (answer.status_code, answer.headers["content-type"][:10], workers)


async def test_redis_unreachable_is_a_503_with_a_short_body() -> None:
    """Without Redis there are no figures to give: 503 and one line, no traceback."""
    answer = await get_metrics(TallyStore(None))
    assert (503, "redis unreachable\n") == (answer.status_code, answer.text)
