"""End to end, change freezes: chat freezes over signed HTTP, a real worker and real Redis;
refused requests, a request held in its lane until the freeze ends, and break-glass."""

from __future__ import annotations

from tests.conftest import marker_lines
from tests.stack import CHANNEL, Stack, reply_text

APPROVE = "shipbot_approve"


def shipbot(bot: Stack, text: str, user: str = "U0ALICE") -> str:
    return reply_text(bot.command(text, user, command="/shipbot"))


def test_a_request_during_a_freeze_is_refused_naming_it(bot: Stack) -> None:
    """While web-h5 prod is frozen from chat, /deploy is refused with the freeze, who froze it
    and until when; nothing is recorded."""
    froze = shipbot(bot, "freeze web-h5 prod 2h incident 42 under way")
    assert "Froze `web-h5` in `prod`" in froze
    answer = reply_text(bot.command("web-h5 v2.3.1 to prod"))
    assert "is frozen" in answer and "incident 42 under way" in answer
    assert "<@U0ALICE>" in answer and "until" in answer
    assert [] == [m for m in bot.slack.messages(CHANNEL) if m.blocks]


def test_freezing_all_of_an_unknown_environment_names_the_known_ones(bot: Stack) -> None:
    answer = shipbot(bot, "freeze all api until 23:59 month end", user="U0BOB")
    assert "No service has an environment `api`" in answer and "`prod`" in answer


def test_freezing_all_needs_a_freezer_of_every_guarded_service(bot: Stack) -> None:
    """`freeze all prod` by U0BOB, who may not freeze crowd's prod, is refused naming it, and
    nothing is frozen."""
    bot.slack.usergroups["S0CHANGE"] = []
    refused = shipbot(bot, "freeze all prod until 23:59 month end", user="U0BOB")
    assert "You may not freeze or unfreeze `crowd` in `prod`" in refused
    assert "is frozen" not in reply_text(bot.command("risky v2 to prod"))


def test_a_request_approved_before_a_freeze_waits_in_its_lane_until_it_ends(bot: Stack) -> None:
    """Approved after a freeze began, the request stays queued, its card says which freeze and
    until when, and nothing runs; when the freeze ends it starts and deploys."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "1 of 2")
    shipbot(bot, "freeze web-h5 prod 1h release rehearsal")
    bot.click(APPROVE, request_id, "U0BOB")
    card = bot.wait_card(request_id, "Approved; waiting")
    assert "release rehearsal" in card and "until" in card
    assert [] == marker_lines(bot)
    ended = shipbot(bot, "unfreeze web-h5 prod")
    assert "Ended the freeze" in ended
    bot.wait_card(request_id, "Deployed in")
    assert 2 == len(marker_lines(bot))


def test_emergency_outside_a_freeze_is_refused_as_needless(bot: Stack) -> None:
    answer = reply_text(bot.command("web-h5 v2.3.1 to prod --emergency trading is down"))
    assert "not frozen now" in answer and "`--emergency` is not needed" in answer


def test_an_emergency_during_a_freeze_runs_and_the_channel_is_told(bot: Stack) -> None:
    """With --emergency a request is accepted during a freeze, runs once approved, and the
    channel hears that a freeze was broken, by whom and why."""
    shipbot(bot, "freeze web-h5 prod 2h quarter close")
    request_id = bot.deploy("web-h5 v2.3.2 to prod --emergency orders are failing")
    for approver in ("U0ALICE", "U0BOB", "U0CAROL"):
        bot.click(APPROVE, request_id, approver)
    bot.wait_card(request_id, "Deployed in")

    def broken() -> list[str]:
        said = [m.text for m in bot.slack.messages(CHANNEL) if "freeze was broken" in m.text]
        return said

    told = bot.slack.wait_for(broken)[0]
    for fragment in ("quarter close", "<@U0DEV>", "<@U0ALICE>", "orders are failing", request_id):
        assert fragment in told


def test_an_emergency_goes_ahead_of_a_request_waiting_out_the_freeze(bot: Stack) -> None:
    """A request approved during a freeze waits at the head of its lane; an emergency approved
    after it deploys first, and the waiting one stays waiting (its card says so) until the
    freeze ends, then deploys."""
    waiting = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, waiting, "U0ALICE")
    bot.wait_card(waiting, "1 of 2")
    shipbot(bot, "freeze web-h5 prod 2h quarter close")
    bot.click(APPROVE, waiting, "U0BOB")
    bot.wait_card(waiting, "Approved; waiting")
    urgent = bot.deploy("web-h5 v2.3.2 to prod --emergency orders are failing")
    for approver in ("U0ALICE", "U0BOB", "U0CAROL"):
        bot.click(APPROVE, urgent, approver)
    bot.wait_card(urgent, "Deployed in")
    deployed = marker_lines(bot)
    assert 2 == len(deployed) and all(urgent in line for line in deployed)
    card = bot.wait_card(waiting, "Approved; waiting")
    assert "quarter close" in card
    shipbot(bot, "unfreeze web-h5 prod")
    bot.wait_card(waiting, "Deployed in")
    assert 4 == len(marker_lines(bot))


def test_freeze_and_unfreeze_by_a_non_freezer_are_refused(bot: Stack) -> None:
    """Only the environment's freezers (here: its approvers and their group) may."""
    bot.slack.usergroups["S0CHANGE"] = ["U0GROUPIE"]
    refused = shipbot(bot, "freeze web-h5 prod 1h no reason", user="U0MALLORY")
    assert "You may not freeze" in refused
    assert "Froze" in shipbot(bot, "freeze web-h5 prod 1h audit week", user="U0GROUPIE")
    assert "You may not freeze" in shipbot(bot, "unfreeze web-h5 prod", user="U0MALLORY")
    assert "is frozen" in reply_text(bot.command("web-h5 v2.3.1 to prod"))


def test_freezes_lists_the_chat_freeze_in_the_catalogs_zone(bot: Stack) -> None:
    assert "Froze `web-h5`" in shipbot(bot, "freeze web-h5 prod 3h market event")
    listing = shipbot(bot, "freezes prod", user="U0DEV")
    assert "*Freezes* (times in UTC" in listing
    assert "market event" in listing and "*now*, until" in listing and "(web-h5)" in listing


def test_a_held_request_starts_by_itself_when_the_freeze_expires(bot: Stack) -> None:
    """A one-minute chat freeze begins after the request was made: approved, it waits; then
    the worker's deferred job starts it once the freeze has ended (waited for, never slept)."""
    request_id = bot.deploy("web-h5 v2.4.0 to prod")
    shipbot(bot, "freeze web-h5 prod 1m short rehearsal")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.click(APPROVE, request_id, "U0BOB")
    bot.wait_card(request_id, "short rehearsal")
    assert [] == marker_lines(bot)
    bot.wait_card(request_id, "Deployed in", timeout=150)
    assert 2 == len(marker_lines(bot))
