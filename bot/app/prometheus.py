"""``GET /metrics``: the deploy figures and the workers' own figures from Redis, the same
whichever replica answers, and the replica's own counters (Slack requests), in Prometheus' text
format.

The route reads the store's running tally (``Store.tally()``) and the workers' figures
(``Store.worker_figures()``) asynchronously, then renders them with a per-request registry:
collectors of those beside the replica's registry (:func:`replica_registry`). Redis
unreachable: 503 with a one-line body.

Under ``serve --workers N`` the Slack counters are prometheus_client's multiprocess metrics:
each HTTP process writes its own to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by the serve
parent), and every scrape sums them all, so a replica answers the same whichever of its
processes serves the scrape.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client import Histogram as HistogramMetric
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.ports.metrics import NO_FIGURES, Histogram, Tally, WorkerFigures
from bot.ports.store import Store, StoreUnavailable

log = logging.getLogger(__name__)
PAIR = ["service", "environment"]
DURATION = "shipbot_deploy_duration_seconds", "How long deploy and rollback runs took"
APPROVAL_WAIT = "shipbot_approval_wait_seconds", "How long requests waited for approval"
LEAD_TIME = "shipbot_change_lead_time_seconds", "From a commit to the deploy that shipped it"
QUEUE_DEPTH = "shipbot_queue_depth", "Requests queued, waiting for their lane"
WORKERS_ALIVE = "shipbot_workers_alive", "Workers whose heartbeat is recent"
JOBS_RUNNING = "shipbot_worker_jobs_running", "Jobs the live workers run, as they last said"
JOB_DURATION = "shipbot_worker_job_duration_seconds", "How long worker jobs took, by outcome"
RENEWALS = "shipbot_worker_lease_renewals", "Renewals of running deploys' leases, by outcome"
SLACK_REQUESTS = Counter("shipbot_slack_requests_total", "Requests received from Slack", ["status"])
SLACK_LATENCY = HistogramMetric(
    "shipbot_slack_response_seconds",
    "Time to answer Slack (the ack)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3),
)


class TallyCollector:
    """One tally as Prometheus metric families (a collector for one scrape)."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def collect(self) -> Iterator[Metric]:
        t = self.tally
        yield deploys(t.deploys)
        yield histogram(*DURATION, t.deploy_duration)
        yield histogram(*APPROVAL_WAIT, t.approval_wait)
        yield histogram(*LEAD_TIME, t.lead_time)
        yield GaugeMetricFamily(*QUEUE_DEPTH, value=t.queue_depth)
        yield GaugeMetricFamily(*WORKERS_ALIVE, value=t.workers_alive)
        yield slack_errors(t.slack_errors)


class WorkerCollector:
    """The workers' figures as Prometheus metric families (a collector for one scrape)."""

    def __init__(self, figures: WorkerFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        yield GaugeMetricFamily(*JOBS_RUNNING, value=f.jobs_running)
        yield histogram(*JOB_DURATION, f.job_duration, ["function", "outcome"])
        renewals = CounterMetricFamily(*RENEWALS, labels=["outcome"])
        for outcome, count in sorted(f.lease_renewals.items()):
            renewals.add_metric([outcome], count)
        yield renewals


def deploys(counts: Mapping[tuple[str, str, str, str], int]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "shipbot_deploys",
        "Deploys and rollbacks that ended, by outcome",
        labels=[*PAIR, "action", "outcome"],
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    return family


def slack_errors(counts: Mapping[tuple[str, str], int]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "shipbot_slack_api_errors",
        "Slack Web API calls that failed, by method and error (every process's)",
        labels=["method", "error"],
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    return family


def histogram(
    name: str,
    help_text: str,
    kept: Mapping[tuple[str, str], Histogram],
    label_names: list[str] = PAIR,
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, help_text, labels=label_names)
    for labels, h in sorted(kept.items()):
        family.add_metric(list(labels), cumulative(h), sum_value=h.total)
    return family


def cumulative(h: Histogram) -> list[tuple[str, float]]:
    """Prometheus' buckets: each bound with the observations at most it, then +Inf with all."""
    bounds = [*map(floatToGoString, h.bounds), "+Inf"]
    return list(zip(bounds, itertools.accumulate(h.counts), strict=True))


def replica_registry(multiprocess_dir: str | None = None) -> CollectorRegistry:
    """This process's registry; with ``multiprocess_dir`` (``serve --workers N``), the Slack
    counters of every HTTP process of the replica, summed from their files there, and this
    process's own process_* and python_info figures."""
    if not multiprocess_dir:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def exposition(
    tally: Tally, figures: WorkerFigures = NO_FIGURES, replica: CollectorRegistry = REGISTRY
) -> bytes:
    """The text a scrape gets: the tally's and the workers' families, then the replica's."""
    registry = CollectorRegistry()
    registry.register(TallyCollector(tally))
    registry.register(WorkerCollector(figures))
    registry.register(replica)
    return generate_latest(registry)


def endpoint(
    store: Store, replica: CollectorRegistry = REGISTRY
) -> Callable[[Request], Awaitable[Response]]:
    """The ``GET /metrics`` route over ``store`` and the replica's registry."""

    async def metrics(_: Request) -> Response:
        try:
            tally, figures = await store.tally(), await store.worker_figures()
        except StoreUnavailable as error:
            log.warning("GET /metrics: Redis unavailable (%s)", error)
            return PlainTextResponse("redis unreachable\n", status_code=503)
        return Response(exposition(tally, figures, replica), media_type=CONTENT_TYPE_LATEST)

    return metrics
