"""`/metrics [service] [period]` parsed against the catalog's services: what it asks for, and
the specific message each kind of bad input gets."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.grammar import UsageError
from bot.domain.metrics.ask import MetricsAsk, parse_metrics
from bot.domain.metrics.period import Period

TODAY = date(2026, 12, 2)
SERVICES = ("web-h5", "api")


def asked(text: str) -> MetricsAsk:
    return parse_metrics(text, SERVICES, TODAY)


def refused(text: str) -> str:
    with pytest.raises(UsageError) as caught:
        asked(text)
    return caught.value.message


def test_nothing_is_all_services_over_30_days() -> None:
    """`/metrics` alone: all services, the 30 days ending today."""
    assert MetricsAsk(None, Period(date(2026, 11, 3), TODAY, "30d")) == asked("")


def test_a_service_alone_takes_the_default_period() -> None:
    """`/metrics web-h5`: that service over 30 days."""
    assert MetricsAsk("web-h5", Period(date(2026, 11, 3), TODAY, "30d")) == asked("web-h5")


def test_a_service_and_a_period() -> None:
    """`/metrics web-h5 90d`: 90 days, today included."""
    assert MetricsAsk("web-h5", Period(date(2026, 9, 4), TODAY, "90d")) == asked("web-h5 90d")


def test_a_period_alone_is_all_services() -> None:
    """`/metrics quarter`: all services since the quarter began."""
    assert MetricsAsk(None, Period(date(2026, 10, 1), TODAY, "quarter")) == asked("quarter")


def test_a_range_in_either_order_of_words() -> None:
    """`/metrics 2026-10-01..2026-12-01 api`: the range as written, both days included."""
    expected = MetricsAsk(
        "api", Period(date(2026, 10, 1), date(2026, 12, 1), "2026-10-01..2026-12-01")
    )
    assert expected == asked("2026-10-01..2026-12-01 api")


def test_unknown_service_names_the_known_ones() -> None:
    """A word that is neither a period nor a service: the services are listed."""
    message = refused("payments")
    assert message.startswith("Unknown service `payments`, and not a period")
    assert "The services are `api`, `web-h5`." in message


def test_malformed_range_says_which_date() -> None:
    """A range with a month 13 names the bad date."""
    assert "`2026-13-01` is not a date (YYYY-MM-DD)." == refused("2026-13-01..2026-12-01")


def test_range_ending_before_it_starts() -> None:
    assert "The period `2026-12-01..2026-10-01` ends before it starts." == refused(
        "2026-12-01..2026-10-01"
    )


def test_more_than_400_days() -> None:
    assert "The period `401d` is 401 days long; keep it to 400." == refused("401d")


def test_two_periods_or_too_many_words() -> None:
    assert refused("7d 30d").startswith("Give one period, not two.")
    assert refused("web-h5 api").startswith("Give one service, not two.")
    assert refused("web-h5 7d extra").startswith("/metrics takes at most a service and a period.")
