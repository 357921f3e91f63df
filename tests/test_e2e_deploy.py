"""End to end: signed Slack requests over HTTP to `shipbot serve`, a `shipbot worker`, a private
redis-server, FakeSlack, and real playbooks run by ansible-runner against localhost."""

from __future__ import annotations

import itertools
import json
import re

from tests.conftest import marker_lines
from tests.stack import Stack, reply_text

APPROVE, REJECT, CANCEL = "shipbot_approve", "shipbot_reject", "shipbot_cancel"


def test_staging_deploys_at_once_without_approval(bot: Stack) -> None:
    """With approvals: 0 the playbook runs right away with the requested version."""
    request_id = bot.deploy("web-h5 v1.4.0 to staging warm caches")
    bot.wait_card(request_id, "Deployed in")
    expected = [f"web-h5 v1.4.0 staging - deploy {request_id}"]
    assert expected == marker_lines(bot)


def test_the_word_to_is_optional(bot: Stack) -> None:
    """`/deploy web-h5 v1.4.1 staging` means the same as with `to`."""
    request_id = bot.deploy("web-h5 v1.4.1 staging")
    bot.wait_card(request_id, "Deployed in")
    assert [f"web-h5 v1.4.1 staging - deploy {request_id}"] == marker_lines(bot)


def test_prod_waits_for_two_approvals_then_deploys_each_datacenter_in_order(bot: Stack) -> None:
    """Two different approvers make it run, dc-a before dc-b, with the approved version."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.wait_card(request_id, "Waiting for approval")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "1 of 2")
    assert [] == marker_lines(bot)
    bot.click(APPROVE, request_id, "U0BOB")
    bot.wait_card(request_id, "Deployed in")
    expected = [
        f"web-h5 v2.3.1 prod dc-a deploy {request_id}",
        f"web-h5 v2.3.1 prod dc-b deploy {request_id}",
    ]
    assert expected == marker_lines(bot)


def test_approval_card_names_request_and_has_buttons(bot: Stack) -> None:
    """The card names requester, service, version, environment, data centres and reason."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod fix the login page")
    card = bot.card_text(request_id)
    for fragment in ("<@U0DEV>", "web-h5", "v2.3.1", "prod", "dc-a", "dc-b", "fix the login page"):
        assert fragment in card
    for action in (APPROVE, REJECT, CANCEL):
        assert action in card


def test_requester_cannot_approve_their_own_request(bot: Stack) -> None:
    """Self-approval is refused with a reason, and nothing is counted."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0DEV")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0DEV"))
    assert "can't approve it" in said[0]
    assert "0 of 2" in bot.card_text(request_id)


def test_non_approver_is_refused(bot: Stack) -> None:
    """Someone not listed (and in no listed group) is told so, and nothing changes."""
    bot.slack.usergroups["S0CHANGE"] = ["U0GROUPIE"]
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0MALLORY")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0MALLORY"))
    assert "not an approver" in said[0]
    assert "0 of 2" in bot.card_text(request_id)


def test_member_of_an_approver_group_may_approve(bot: Stack) -> None:
    """A user in a listed user group (S...) counts as an approver."""
    bot.slack.usergroups["S0CHANGE"] = ["U0GROUPIE"]
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0GROUPIE")
    bot.wait_card(request_id, "1 of 2")
    assert [] == bot.ephemerals("U0GROUPIE")


def test_same_approver_twice_counts_once(bot: Stack) -> None:
    """A second click by the same person is refused and the count stays at one."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.wait_card(request_id, "1 of 2")
    bot.click(APPROVE, request_id, "U0ALICE")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0ALICE"))
    assert "already approved" in said[0]
    assert "1 of 2" in bot.card_text(request_id)


def test_reject_ends_the_request(bot: Stack) -> None:
    """Reject by an approver (with a reason) ends it; the card says who, and nothing is
    deployed."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(REJECT, request_id, "U0BOB")
    bot.submit(bot.modal(request_id), "U0BOB", {"reject_reason": {"reason": "not today"}})
    card = bot.wait_card(request_id, "Rejected")
    assert "<@U0BOB>" in card and APPROVE not in card
    bot.click(APPROVE, request_id, "U0ALICE")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0ALICE"))
    assert "already rejected" in said[0]
    assert [] == marker_lines(bot)


def test_cancel_is_for_the_requester_only(bot: Stack) -> None:
    """Someone else's Cancel is refused; the requester's ends the request."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(CANCEL, request_id, "U0ALICE")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0ALICE"))
    assert "who asked for it, can cancel" in said[0]
    bot.click(CANCEL, request_id, "U0DEV")
    bot.wait_card(request_id, "Cancelled")
    assert [] == marker_lines(bot)


def test_card_is_updated_in_place_never_reposted(bot: Stack) -> None:
    """One card per request: approvals and progress are chat.update calls on it."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.click(APPROVE, request_id, "U0BOB")
    bot.wait_card(request_id, "Deployed in")
    cards = [m for m in bot.slack.messages("C0DEPLOY") if m.blocks and request_id in str(m.blocks)]
    assert 1 == len(cards)
    assert len(bot.slack.updates_of("C0DEPLOY", cards[0].ts)) >= 3


def test_card_updates_are_at_least_two_seconds_apart(bot: Stack) -> None:
    """Progress is coalesced: at most one chat.update per message every 2 seconds."""
    request_id = bot.deploy("web-h5 v1.5.0 to staging")
    card = bot.card(request_id)
    bot.wait_card(request_id, "Deployed in")
    times = [c.at for c in bot.slack.updates_of("C0DEPLOY", card.ts)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 1.9 for gap in gaps), gaps


def test_release_notification_names_who_and_how_long(bot: Stack) -> None:
    """The release note ends up naming service, version, environment, requester, approvers
    and how long it took; web-h5 names no source, and its note says so."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.click(APPROVE, request_id, "U0BOB")
    bot.wait_card(request_id, "Deployed in")
    title = "Released web-h5 v2.3.1 to prod"
    note = bot.slack.wait_for(lambda: [m for m in bot.releases(request_id) if m.text == title])
    text = str(note[0].blocks)
    for fragment in ("<@U0DEV>", "<@U0ALICE>", "<@U0BOB>", "*Released* in ", "no source"):
        assert fragment in text


def test_failed_datacenter_stops_the_rollout_and_says_where(bot: Stack) -> None:
    """dc-a fails: dc-b is never started; card names task and host; requester told in thread."""
    request_id = bot.deploy("risky v9.9.9 to prod")
    card = bot.wait_card(request_id, "Failed")
    assert "check capacity" in card and "localhost" in card
    assert all("dc-b" not in line for line in marker_lines(bot))
    thread = bot.slack.wait_for(lambda: bot.thread(request_id))
    assert "<@U0DEV>" in (thread[0].text or "")
    title = "Release of risky v9.9.9 to prod failed"
    note = bot.slack.wait_for(lambda: [m for m in bot.releases(request_id) if m.text == title])
    assert [title] == [m.text for m in bot.releases(request_id)]  # one note, never "Released"
    assert "❌ `dc-a` · ⏭️ `dc-b`" in json.dumps(note[0].blocks, ensure_ascii=False)


def test_second_request_waits_behind_the_running_one(bot: Stack) -> None:
    """One deploy at a time per service+environment; the second card says behind which."""
    first = bot.deploy("slow v1 to staging")
    bot.wait_card(first, "Deploying")
    second = bot.deploy("slow v2 to staging")
    bot.wait_card(second, f"behind `{first}`")
    (bot.workdir / "gate").touch()
    bot.wait_card(second, "Deployed in")
    expected = [f"slow v1 staging - deploy {first}", f"slow v2 staging - deploy {second}"]
    assert expected == marker_lines(bot)


def test_status_and_history_show_what_runs_where(bot: Stack) -> None:
    """After a deploy, status shows the version per data centre and history lists it."""
    request_id = bot.deploy("web-h5 v1.4.0 to staging")
    bot.wait_card(request_id, "Deployed in")
    status = reply_text(bot.command("status web-h5", command="/shipbot"))
    assert "`staging`" in status and "v1.4.0" in status
    history = reply_text(bot.command("history web-h5 staging", command="/shipbot"))
    assert request_id in history and "succeeded" in history


def test_audit_shows_who_asked_approved_and_ran_what(bot: Stack) -> None:
    """`/shipbot audit <request>` lists every transition with its actor, newest first."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.click(APPROVE, request_id, "U0BOB")
    bot.wait_card(request_id, "Deployed in")
    lines = reply_text(bot.command(f"audit {request_id}", command="/shipbot")).splitlines()[1:]
    events = [line.split("*")[1] for line in reversed(lines)]
    expected = ["requested", "approval", "approval", "approved", "queued", "running", "succeeded"]
    assert expected == events
    assert "<@U0DEV>" in lines[-1] and "<@U0BOB>" in lines[-4]


def test_status_lists_pending_requests(bot: Stack) -> None:
    """A request waiting for approval shows in `/shipbot status` with its id and state."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    status = reply_text(bot.command("status web-h5", command="/shipbot"))
    assert f"`{request_id}` v2.3.1 pending" in status


def test_requester_is_told_when_the_card_cannot_be_posted(bot: Stack) -> None:
    """In a channel the bot is not in, the requester gets a direct message saying why."""
    bot.slack.closed_channels.add("C0PRIVATE")
    request_id = bot.deploy("web-h5 v2.3.1 to prod", channel="C0PRIVATE")
    told = bot.slack.wait_for(lambda: bot.slack.messages("U0DEV"))
    assert request_id in (told[0].text or "") and "not_in_channel" in (told[0].text or "")


def test_non_approver_is_told_who_approves_when_no_groups_are_listed(bot: Stack) -> None:
    """api's approvers are users only: an outsider hears that they are not an approver and
    who is, never that Slack's user groups could not be checked."""
    request_id = bot.deploy("api v1 to prod")
    bot.click(APPROVE, request_id, "U0MALLORY")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0MALLORY"))
    expected = (
        "You're not an approver for api in prod. "
        "Its approvers are <@U0ALICE>, <@U0BOB>, <@U0CAROL>."
    )
    assert [expected] == said
    assert "0 of 2" in bot.card_text(request_id)


def test_failed_datacenter_shows_its_own_failure_after_the_rollback(bot: Stack) -> None:
    """v1 everywhere; v2 fails in dc-b: dc-b's line keeps the failed task (not the rollback's
    tasks), both are rolled back to v1, and the failure reads as separate sentences."""
    bot.deployed("flaky v1 to prod")
    (bot.workdir / "fail").touch()
    request_id = bot.deploy("flaky v2 to prod")
    card = bot.wait_card(request_id, "Failed")
    failure = (
        "dc-b: task 'check capacity' failed on host 'localhost': no capacity left in dc-b. "
        "dc-b rolled back to v1; dc-a rolled back to v1."
    )
    assert failure in card
    assert "`dc-b` rolled back — task 'check capacity' failed" in card
    assert "; back on v1" in card and "record the request" not in card
    rollbacks = [line for line in marker_lines(bot) if " rollback " in line]
    assert [
        f"flaky v1 prod dc-b rollback {request_id}",
        f"flaky v1 prod dc-a rollback {request_id}",
    ] == (rollbacks)


def test_a_request_waiting_behind_another_is_acked_as_queued(bot: Stack) -> None:
    """No approval needed but a deploy runs in its lane: the answer says it is queued behind
    that one, not that its card tracks approvals."""
    first = bot.deploy("slow v1 to staging")
    bot.wait_card(first, "Deploying")
    answer = reply_text(bot.command("slow v2 to staging"))
    assert f"It is queued behind `{first}`" in answer and "approvals" not in answer
    (bot.workdir / "gate").touch()
    bot.wait_card(_request_id_in(answer), "Deployed in")


def test_a_queued_request_is_cancelled_from_its_card_by_an_approver(bot: Stack) -> None:
    """An approved request waiting behind a long deploy has a Cancel button; an approver's
    click withdraws it, the card names who, and it never runs."""
    running = bot.deploy("slow v1 to prod")
    bot.click(APPROVE, running, "U0ALICE")
    bot.wait_card(running, "Deploying")
    queued = bot.deploy("slow v2 to prod")
    bot.click(APPROVE, queued, "U0BOB")
    bot.wait_card(queued, f"behind `{running}`")
    bot.click(CANCEL, queued, "U0ALICE")
    card = bot.wait_card(queued, "Cancelled")
    assert "<@U0ALICE>" in card and CANCEL not in card
    (bot.workdir / "gate").touch()
    bot.wait_card(running, "Deployed in")
    assert [f"slow v1 prod - deploy {running}"] == marker_lines(bot)


def test_shipbot_cancel_withdraws_a_queued_request(bot: Stack) -> None:
    """`/shipbot cancel <id>` does what the button does, for the requester; the card of the
    request that was behind it then says it waits for the running one."""
    running = bot.deploy("slow v1 to staging")
    bot.wait_card(running, "Deploying")
    queued = bot.deploy("slow v2 to staging")
    last = bot.deploy("slow v3 to staging")
    bot.wait_card(last, f"behind `{queued}`")
    answer = reply_text(bot.command(f"cancel {queued}", command="/shipbot"))
    assert f"Cancelled `{queued}`" in answer
    bot.wait_card(queued, "Cancelled")
    bot.wait_card(last, f"behind `{running}`")
    (bot.workdir / "gate").touch()
    bot.wait_card(last, "Deployed in")
    expected = [f"slow {v} staging - deploy {r}" for v, r in (("v1", running), ("v3", last))]
    assert expected == marker_lines(bot)


def test_only_the_requester_or_an_approver_may_cancel_a_queued_request(bot: Stack) -> None:
    """Someone else's Cancel on a queued request is refused, names who may, and is audited."""
    running = bot.deploy("slow v1 to staging")
    bot.wait_card(running, "Deploying")
    queued = bot.deploy("slow v2 to staging")
    bot.wait_card(queued, "Queued")
    bot.click(CANCEL, queued, "U0MALLORY")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0MALLORY"))
    assert "Only <@U0DEV>, who asked for it, or an approver of slow in staging" in said[0]
    audit = reply_text(bot.command(f"audit {queued}", command="/shipbot"))
    assert "<@U0MALLORY> *cancel_refused*" in audit
    (bot.workdir / "gate").touch()
    bot.wait_card(queued, "Deployed in")


def _request_id_in(answer: str) -> str:
    found = re.search(r"Request `(d-[a-z0-9]+)`", answer)
    assert found, answer
    return found.group(1)
