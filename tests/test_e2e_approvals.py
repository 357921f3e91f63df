"""End to end: who may ask (deployers), approval rules met by distinct people of the right
groups, break-glass's extra approver, and clicks answered while Slack is slow about groups."""

from __future__ import annotations

import redis

from bot.store.keys import Keys
from tests.conftest import marker_lines
from tests.stack import Stack, reply_text

APPROVE = "shipbot_approve"
GROUPS = {
    "S0DEVS": ["U0DEVX"],
    "S0CHANGE": ["U0CHG"],
    "S0BIZ": ["U0BIZ1", "U0BIZ2"],
    "S0ONCALL": ["U0ONCALL"],
}


def with_groups(bot: Stack) -> Stack:
    bot.slack.usergroups.update(GROUPS)
    return bot


def test_requester_not_in_deployers_is_refused_naming_who_may(bot: Stack) -> None:
    """Someone neither listed in `deployers` nor in a listed group is told privately who may
    ask, and nothing is recorded or posted."""
    text = reply_text(with_groups(bot).command("gov v1 to prod", user="U0MALLORY"))
    assert "may not ask" in text and "<@U0DEV>" in text and "<!subteam^S0DEVS>" in text
    audit = reply_text(bot.command("audit gov", command="/shipbot"))
    assert "U0MALLORY" not in audit  # nothing was recorded, so nothing will be posted


def test_member_of_a_deployers_group_may_ask(bot: Stack) -> None:
    """A member of a group listed in `deployers` gets a request."""
    request_id = with_groups(bot).deploy("gov v1 to prod", user="U0DEVX")
    assert "Waiting for approval" in bot.card_text(request_id)


def test_a_rule_met_by_the_wrong_group_is_not_enough(bot: Stack) -> None:
    """Two members of S0BIZ approve a request needing S0CHANGE and S0BIZ: the second counts for
    nothing (told so) and it stays pending; S0CHANGE's member then completes it and it runs."""
    request_id = with_groups(bot).deploy("gov v2 to prod")
    bot.click(APPROVE, request_id, "U0BIZ1")
    bot.wait_card(request_id, "1 of 2")
    bot.click(APPROVE, request_id, "U0BIZ2")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0BIZ2"))
    assert "doesn't count" in said[0]
    card = bot.card_text(request_id)
    assert "Waiting for approval" in card and "1 of 2" in card and [] == marker_lines(bot)
    bot.click(APPROVE, request_id, "U0CHG")
    card = bot.wait_card(request_id, "Deployed in")
    assert [f"gov v2 prod - deploy {request_id}"] == marker_lines(bot)


def test_card_shows_each_rule_and_who_met_it(bot: Stack) -> None:
    """While pending, the card lists each rule with its count and who met it; a rule is
    called by its name when the catalog gives one."""
    request_id = with_groups(bot).deploy("gov v3 to prod")
    bot.click(APPROVE, request_id, "U0CHG")
    card = bot.wait_card(request_id, "1 of 2")
    assert "• *Change management* (<!subteam^S0CHANGE>): 1 of 1 ✅ <@U0CHG>" in card
    assert "• *Rule 2* (<!subteam^S0BIZ>, <@U0CTO>): 0 of 1" in card


def test_break_glass_needs_its_extra_approver(bot: Stack) -> None:
    """An emergency needs one more approval than usual, from the emergency approvers: the
    environment's one approver is not enough, nor a second of them; on-call's member is."""
    request_id = with_groups(bot).deploy("gov v4 to hot --emergency the database is down")
    bot.click(APPROVE, request_id, "U0ALICE")
    card = bot.wait_card(request_id, "1 of 2")
    assert "🚨 Emergency* (<!subteam^S0ONCALL>): 0 of 1" in card
    bot.click(APPROVE, request_id, "U0BOB")
    assert "doesn't count" in bot.slack.wait_for(lambda: bot.ephemerals("U0BOB"))[0]
    assert [] == marker_lines(bot)
    bot.click(APPROVE, request_id, "U0ONCALL")
    bot.wait_card(request_id, "Deployed in")
    assert [f"gov v4 hot - deploy {request_id}"] == marker_lines(bot)


def test_click_is_answered_before_a_slow_group_lookup_returns(bot: Stack) -> None:
    """With the group cache cold and Slack holding back its lists of members, the click's HTTP
    answer arrives while the lookup is still outstanding; the clicker is told it is being
    checked, and once Slack answers the approval counts."""
    request_id = with_groups(bot).deploy("gov v5 to prod")
    client = redis.Redis.from_url(bot.redis.url)
    warmed = [Keys().group(group) for group in ("S0CHANGE", "S0BIZ")]  # the rules' groups
    bot.slack.wait_for(lambda: client.exists(*warmed) == len(warmed))  # the worker's warm-up
    client.delete(*warmed)  # the cache expired
    bot.slack.usergroups_held = True
    assert 200 == bot.click(APPROVE, request_id, "U0CHG").status_code
    outstanding = bot.slack.usergroups_outstanding()
    bot.slack.usergroups_held = False
    assert outstanding > 0  # answered while Slack had not yet said who is in the groups
    bot.wait_card(request_id, "1 of 2")
    assert "Checking your user groups" in bot.slack.wait_for(lambda: bot.ephemerals("U0CHG"))[0]


def test_an_approval_is_not_narrowed_when_slack_cannot_tell_the_groups(bot: Stack) -> None:
    """U0CTO, listed by ID in the second rule, is also asked about S0CHANGE (the first rule's
    group). Slack failing for it, the click is refused as not knowable and nothing is recorded,
    so the same person's click counts once Slack answers again."""
    with_groups(bot).slack.usergroups.pop("S0CHANGE")  # Slack: no_such_subteam
    redis.Redis.from_url(bot.redis.url).delete(Keys().group("S0CHANGE"))
    request_id = bot.deploy("gov v6 to prod")
    bot.click(APPROVE, request_id, "U0CTO")

    def refused() -> list[str]:
        return [t for t in bot.ephemerals("U0CTO") if "couldn't check your user groups" in t]

    assert bot.slack.wait_for(refused)
    card = bot.card_text(request_id)
    assert "0 of 2" in card and "(<!subteam^S0BIZ>, <@U0CTO>): 0 of 1" in card
    bot.slack.usergroups["S0CHANGE"] = ["U0CHG"]
    bot.click(APPROVE, request_id, "U0CTO")
    card = bot.wait_card(request_id, "1 of 2")
    assert "(<!subteam^S0BIZ>, <@U0CTO>): 1 of 1 ✅ <@U0CTO>" in card
