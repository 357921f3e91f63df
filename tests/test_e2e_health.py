"""End to end: the environment's health check after each data centre, against a real local
HTTP endpoint, and the automatic return of changed data centres when one fails."""

from __future__ import annotations

from tests.conftest import marker_lines
from tests.fakes import HealthServer
from tests.stack import Stack, reply_text


def failed_v2(bot: Stack, health: HealthServer, environment: str, sick: str, code: int) -> str:
    """v1 deployed healthy, then `sick` answers `code`: v2 fails; returns v2's request id."""
    bot.deployed(f"guarded v1 to {environment}")
    health.status[sick] = code
    request_id = bot.deploy(f"guarded v2 to {environment}")
    bot.wait_card(request_id, "Failed")
    return request_id


def test_each_datacenter_is_checked_before_the_next(bot: Stack, health: HealthServer) -> None:
    """Healthy answers, twice in a row per data centre, let the rollout go on to the end."""
    request_id = bot.deployed("guarded v1 to prod")
    assert ["dc-a", "dc-a", "dc-b", "dc-b"] == health.hits
    expected = [f"guarded v1 prod {dc} deploy {request_id}" for dc in ("dc-a", "dc-b")]
    assert expected == marker_lines(bot)


def test_unhealthy_second_datacenter_returns_both_to_the_previous_version(
    bot: Stack, health: HealthServer
) -> None:
    """dc-b fails its check: dc-b, then dc-a, are rolled back to v1, and the card says so."""
    request_id = failed_v2(bot, health, "prod", "dc-b", 503)
    card = bot.card_text(request_id)
    expected = [
        f"guarded v2 prod dc-a deploy {request_id}",
        f"guarded v2 prod dc-b deploy {request_id}",
        f"guarded v1 prod dc-b rollback {request_id}",
        f"guarded v1 prod dc-a rollback {request_id}",
    ]
    assert expected == marker_lines(bot)[-4:]
    assert "HTTP 503" in card and "dc-a rolled back to v1" in card
    status = reply_text(bot.command("status guarded", command="/shipbot"))
    assert "dc-a `v1`" in status and "dc-b `v1`" in status


def test_unhealthy_first_datacenter_leaves_the_second_untouched(
    bot: Stack, health: HealthServer
) -> None:
    """dc-a fails its check: dc-b is never deployed, and dc-a returns to v1."""
    request_id = failed_v2(bot, health, "prod", "dc-a", 500)
    expected = [
        f"guarded v2 prod dc-a deploy {request_id}",
        f"guarded v1 prod dc-a rollback {request_id}",
    ]
    assert expected == marker_lines(bot)[-2:]


def test_catalog_can_turn_the_automatic_rollback_off(bot: Stack, health: HealthServer) -> None:
    """rollback_on_failure: false: a failed check stops the rollout, and nothing is undone."""
    request_id = failed_v2(bot, health, "qa", "dc-a", 503)
    assert [f"guarded v2 qa dc-a deploy {request_id}"] == marker_lines(bot)[-1:]
