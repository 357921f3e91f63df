"""End to end: Reject asks why in a modal (views.open, then a signed view_submission), and a
request is bound to the commit its tag named when it was asked for. Signed HTTP to `shipbot
serve`, a `shipbot worker`, a private redis-server, FakeSlack and FakeGitLab. `shop` names its
code (SHOP_PROJECT, tags ``release-<version>``); its prod needs one approval."""

from __future__ import annotations

import json

import httpx

from tests.conftest import SHOP_PROJECT, marker_lines
from tests.fakes import FakeGitLab
from tests.stack import Stack, reply_text

APPROVE, REJECT = "shipbot_approve", "shipbot_reject"
REASON_BLOCK, REASON_INPUT = "reject_reason", "reason"


def rejected_with(bot: Stack, request_id: str, user: str, reason: str) -> httpx.Response:
    """Press Reject as ``user``, then submit its modal with ``reason``."""
    bot.click(REJECT, request_id, user)
    return bot.submit(bot.modal(request_id), user, {REASON_BLOCK: {REASON_INPUT: reason}})


def errors_of(answer: httpx.Response) -> dict[str, str]:
    body = answer.json() if answer.content else {}
    return body.get("errors", {}) if body.get("response_action") == "errors" else {}


def tagged(gitlab: FakeGitLab, tag: str) -> tuple[int, str]:
    """SHOP_PROJECT with one commit tagged ``tag``: its id and the commit's sha."""
    pid = gitlab.add_project(SHOP_PROJECT, refs=["main"])
    gitlab.commit(pid, "Add cart")
    return pid, gitlab.tag(pid, tag)


def test_reject_opens_a_modal_asking_why(bot: Stack) -> None:
    """Reject opens a modal for the clicker's trigger: a required reason of at most 500
    characters, the request in its private_metadata; nothing changes yet."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(REJECT, request_id, "U0BOB")
    view = bot.modal(request_id)
    (reason,) = [b for b in view["blocks"] if b["type"] == "input"]
    expected = (REASON_BLOCK, REASON_INPUT, "plain_text_input", 500, False)
    element = reason["element"]
    actual = (reason["block_id"], element["action_id"], element["type"], element["max_length"],
              reason.get("optional", False))  # fmt: skip
    assert expected == actual
    assert request_id == json.loads(view["private_metadata"])["request"]
    assert "Waiting for approval" in bot.card_text(request_id)


def test_submitted_reason_rejects_and_shows_on_card_audit_and_history(bot: Stack) -> None:
    """The approver's reason ends the request: the card, `/shipbot audit` and `/shipbot
    history` say who rejected it and why; nothing is deployed."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    answer = rejected_with(bot, request_id, "U0BOB", "the change window is tomorrow")
    assert (200, {}) == (answer.status_code, errors_of(answer))
    card = bot.wait_card(request_id, "Rejected")
    assert "🚫 *Rejected* by <@U0BOB>: the change window is tomorrow" in card
    assert APPROVE not in card
    audit = reply_text(bot.command(f"audit {request_id}", command="/shipbot"))
    assert "<@U0BOB> *rejected*" in audit and "the change window is tomorrow" in audit
    history = reply_text(bot.command("history web-h5 prod", command="/shipbot"))
    line = next(line for line in history.splitlines() if request_id in line)
    assert "*rejected*" in line and "rejected by <@U0BOB>: the change window is tomorrow" in line
    assert [] == marker_lines(bot)


def test_a_reason_is_shown_as_typed_never_as_a_mention(bot: Stack) -> None:
    """A modal's reason is raw text: `<!channel>` and `&` are escaped on the card, in history
    and in the audit trail, so they show as typed and ping nobody."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    rejected_with(bot, request_id, "U0BOB", "<!channel> Q&A first")
    shown = "&lt;!channel&gt; Q&amp;A first"
    card = bot.wait_card(request_id, "Rejected")
    assert shown in card and "<!channel>" not in card
    history = reply_text(bot.command("history web-h5 prod", command="/shipbot"))
    line = next(line for line in history.splitlines() if request_id in line)
    assert shown in line and "<!channel>" not in line
    audit = reply_text(bot.command(f"audit {request_id}", command="/shipbot"))
    rejected = next(line for line in audit.splitlines() if "*rejected*" in line)
    assert shown in rejected and "<!channel>" not in rejected


def test_a_non_approvers_submission_is_refused(bot: Stack) -> None:
    """A submission by someone who may not reject is answered in the modal, audited, and
    changes nothing."""
    bot.slack.usergroups["S0CHANGE"] = ["U0GROUPIE"]
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(REJECT, request_id, "U0BOB")
    view = bot.modal(request_id)
    answer = bot.submit(view, "U0MALLORY", {REASON_BLOCK: {REASON_INPUT: "I don't like it"}})
    assert "not an approver" in errors_of(answer).get(REASON_BLOCK, "")
    assert "Waiting for approval" in bot.card_text(request_id)
    audit = reply_text(bot.command(f"audit {request_id}", command="/shipbot"))
    assert "<@U0MALLORY> *rejection_refused*" in audit


def test_a_blank_reason_is_asked_for_again(bot: Stack) -> None:
    """Spaces alone are no reason: the modal says so and the request stays pending."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    answer = rejected_with(bot, request_id, "U0BOB", "   ")
    assert "Say why" in errors_of(answer).get(REASON_BLOCK, "")
    assert "Waiting for approval" in bot.card_text(request_id)


def test_a_request_decided_meanwhile_is_said_so_in_the_modal(bot: Stack) -> None:
    """Bob opens the modal, Carol rejects first: Bob's submission says it is already
    rejected, and the card keeps Carol's reason."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(REJECT, request_id, "U0BOB")
    bobs = bot.modal(request_id)
    rejected_with(bot, request_id, "U0CAROL", "wrong version")
    bot.wait_card(request_id, "Rejected")
    answer = bot.submit(bobs, "U0BOB", {REASON_BLOCK: {REASON_INPUT: "too late"}})
    assert "already rejected" in errors_of(answer).get(REASON_BLOCK, "")
    assert "<@U0CAROL>: wrong version" in bot.card_text(request_id)


def test_the_requester_pressing_reject_is_told_to_cancel(bot: Stack) -> None:
    """The requester gets no modal: they withdraw their own request with Cancel."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    bot.click(REJECT, request_id, "U0DEV")
    said = bot.slack.wait_for(lambda: bot.ephemerals("U0DEV"))
    assert "use Cancel" in said[0]
    assert [] == bot.slack.views()


def test_the_card_shows_the_commit_its_tag_names(bot: Stack, gitlab: FakeGitLab) -> None:
    """`shop v1`'s card shows release-v1's commit, short and linked to GitLab."""
    _, sha = tagged(gitlab, "release-v1")
    request_id = bot.deploy("shop v1 to prod")
    card = bot.wait_card(request_id, "*Commit*")
    assert f"<{gitlab.url}/{SHOP_PROJECT}/-/commit/{sha}|`{sha[:8]}`>" in card


def test_an_unknown_tag_is_said_on_the_card(bot: Stack, gitlab: FakeGitLab) -> None:
    tagged(gitlab, "release-v1")
    request_id = bot.deploy("shop v9 to prod")
    assert "unknown (tag release-v9 not found)" in bot.wait_card(request_id, "*Commit*")


def test_a_tag_moved_after_the_request_voids_it(bot: Stack, gitlab: FakeGitLab) -> None:
    """release-v1 is moved to a new commit after the card showed the old one: once approved,
    the request is not run, and the card says the tag moved and from where to where."""
    pid, was = tagged(gitlab, "release-v1")
    request_id = bot.deploy("shop v1 to prod")
    bot.wait_card(request_id, was[:8])
    gitlab.commit(pid, "Sneak in a change")
    now = gitlab.tag(pid, "release-v1")
    bot.click(APPROVE, request_id, "U0ALICE")
    card = bot.wait_card(request_id, "Not run")
    assert f"tag release-v1 moved from {was[:8]} to {now[:8]} since it was approved" in card
    assert [] == marker_lines(bot)
    audit = reply_text(bot.command(f"audit {request_id}", command="/shipbot"))
    assert "*voided*" in audit


def test_gitlab_down_at_start_voids_a_bound_request(bot: Stack, gitlab: FakeGitLab) -> None:
    """Fail closed: GitLab cannot confirm the commit as the deploy starts, so it is not run."""
    _, was = tagged(gitlab, "release-v1")
    request_id = bot.deploy("shop v1 to prod")
    bot.wait_card(request_id, was[:8])
    gitlab.down = True
    bot.click(APPROVE, request_id, "U0ALICE")
    card = bot.wait_card(request_id, "Not run")
    assert f"GitLab could not confirm that tag release-v1 still names commit {was[:8]}" in card
    assert [] == marker_lines(bot)


def test_an_unmoved_tag_deploys(bot: Stack, gitlab: FakeGitLab) -> None:
    _, sha = tagged(gitlab, "release-v1")
    request_id = bot.deploy("shop v1 to prod")
    bot.wait_card(request_id, sha[:8])
    bot.click(APPROVE, request_id, "U0ALICE")
    assert sha[:8] in bot.wait_card(request_id, "Deployed in")
