"""Slack Web API calls that failed, counted for Prometheus by method and Slack's error code
(or the transport failure's kind): this process's counter, served by its ``GET /metrics``."""

from __future__ import annotations

from prometheus_client import Counter

SLACK_API_ERRORS = Counter(
    "shipbot_slack_api_errors_total",
    "Slack Web API calls that failed, by method and error",
    ["method", "error"],
)


def count_failure(method: str, error: str) -> None:
    SLACK_API_ERRORS.labels(method=method, error=error).inc()
