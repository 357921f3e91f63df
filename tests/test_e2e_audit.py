"""End to end: what `/shipbot audit` tells an auditor, and what status says of workers."""

from __future__ import annotations

import redis

from bot.store.keys import Keys
from tests.stack import Stack, reply_text

APPROVE = "shipbot_approve"


def audit(bot: Stack, subject: str = "") -> list[str]:
    return reply_text(bot.command(f"audit {subject}".strip(), command="/shipbot")).splitlines()


def test_a_request_needing_no_approval_is_approved_by_shipbot_not_its_requester(
    bot: Stack,
) -> None:
    """The `approved` line of a staging deploy names shipbot and why, never the requester."""
    request_id = bot.deployed("web-h5 v1 to staging")
    approved = [line for line in audit(bot, request_id) if "*approved*" in line]
    assert 1 == len(approved) and "shipbot *approved*" in approved[0]
    assert "no approval needed" in approved[0] and "U0DEV" not in approved[0]


def test_the_undone_release_is_rolled_back_by_a_person(bot: Stack) -> None:
    """The rolled_back event names who asked for the rollback, and the rollback by its id."""
    bot.deployed("web-h5 v1 to staging")
    undone = bot.deployed("web-h5 v2 to staging")
    rollback = bot.rollback("web-h5 staging", user="U0OPS")
    bot.wait_card(rollback, "Rolled back to")
    line = next(line for line in audit(bot, undone) if "*rolled_back*" in line)
    assert "<@U0OPS> *rolled_back*" in line and f"by rollback {rollback}" in line


def test_a_long_trail_says_it_shows_only_the_newest(bot: Stack) -> None:
    """More events than fit (five each): the answer says how many of how many, and how to
    narrow it."""
    for version in ("v1", "v2", "v3", "v4", "v5"):
        bot.deployed(f"web-h5 {version} to staging")
    lines = audit(bot)
    assert "*Audit trail* (newest first; the newest 20 of 25)" == lines[0]
    assert 22 == len(lines) and lines[-1].startswith("Narrow it with")


def test_an_unknown_subject_is_named_as_unknown(bot: Stack) -> None:
    """A service that is not in the catalog and no request: said so, with the services."""
    answer = "\n".join(audit(bot, "web-h6"))
    assert "`web-h6` is neither a service in the catalog nor a request on record" in answer
    assert "`web-h5`" in answer


def test_a_refused_approval_is_in_the_audit_trail(bot: Stack) -> None:
    """Self-approval and an outsider's click are refused and recorded with the reason."""
    request_id = bot.deploy("api v1 to prod")
    bot.card(request_id)
    bot.click(APPROVE, request_id, "U0DEV")
    bot.click(APPROVE, request_id, "U0MALLORY")
    bot.slack.wait_for(lambda: bot.ephemerals("U0DEV") and bot.ephemerals("U0MALLORY"))
    refused = [line for line in audit(bot, request_id) if "*approval_refused*" in line]
    assert 2 == len(refused)
    assert "<@U0MALLORY>" in refused[0] and "not an approver" in refused[0]
    assert "<@U0DEV>" in refused[1] and "asked for it" in refused[1]


def test_status_says_how_many_workers_are_alive(bot: Stack) -> None:
    """With the stack's worker running, status starts by saying a worker is alive."""
    client = redis.Redis.from_url(bot.redis.url)
    bot.slack.wait_for(lambda: client.zcard(Keys().workers()), timeout=30)
    status = reply_text(bot.command("status web-h5", command="/shipbot"))
    assert status.startswith("Workers alive: 1.")
