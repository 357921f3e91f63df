"""End to end: /rollback over signed HTTP, run by the worker with real playbooks."""

from __future__ import annotations

from tests.conftest import marker_lines
from tests.stack import Stack, reply_text

APPROVE = "shipbot_approve"


def test_rollback_returns_to_the_previous_version(bot: Stack) -> None:
    """v1 then v2, then /rollback: the playbook runs with action rollback and version v1."""
    bot.deployed("web-h5 v1 to staging")
    bot.deployed("web-h5 v2 to staging")
    request_id = bot.rollback("web-h5 staging")
    bot.wait_card(request_id, "Deployed in")
    assert f"web-h5 v1 staging - rollback {request_id}" == marker_lines(bot)[-1]


def test_rolled_back_release_is_marked_and_announced(bot: Stack) -> None:
    """History shows the undone release as rolled back; the releases channel is told."""
    bot.deployed("web-h5 v1 to staging")
    undone = bot.deployed("web-h5 v2 to staging")
    request_id = bot.rollback("web-h5 staging")
    bot.wait_card(request_id, "Deployed in")
    note = bot.slack.wait_for(lambda: bot.releases(request_id))[0]
    assert "Rolled back web-h5 in staging to v1 (from v2)" == note.text
    history = reply_text(bot.command("history web-h5 staging", command="/shipbot"))
    line = next(line for line in history.splitlines() if undone in line)
    assert "*rolled_back*" in line


def test_a_second_rollback_goes_further_back_not_forward(bot: Stack) -> None:
    """v1, v2, v3; rollback -> v2; rollback again -> v1, never back to the undone v3."""
    for version in ("v1", "v2", "v3"):
        bot.deployed(f"web-h5 {version} to staging")
    first = bot.rollback("web-h5 staging")
    bot.wait_card(first, "Deployed in")
    second = bot.rollback("web-h5 staging")
    bot.wait_card(second, "Deployed in")
    assert [f"web-h5 v2 staging - rollback {first}", f"web-h5 v1 staging - rollback {second}"] == (
        marker_lines(bot)[-2:]
    )


def test_rollback_to_a_named_version(bot: Stack) -> None:
    """`/rollback web-h5 staging to v1` skips over v2."""
    for version in ("v1", "v2", "v3"):
        bot.deployed(f"web-h5 {version} to staging")
    request_id = bot.rollback("web-h5 staging to v1")
    bot.wait_card(request_id, "Deployed in")
    assert f"web-h5 v1 staging - rollback {request_id}" == marker_lines(bot)[-1]


def test_unknown_target_version_is_refused_with_the_choices(bot: Stack) -> None:
    """A version never deployed there is refused, naming the versions one can return to."""
    bot.deployed("web-h5 v1 to staging")
    bot.deployed("web-h5 v2 to staging")
    answer = reply_text(bot.command("web-h5 staging to v9", command="/rollback"))
    assert "`v9` has no successful deploy" in answer and "`v1`" in answer


def test_nothing_to_roll_back_is_refused(bot: Stack) -> None:
    """With no deploy on record, /rollback says so and creates nothing."""
    answer = reply_text(bot.command("web-h5 staging", command="/rollback"))
    assert "Nothing to roll back" in answer
    assert [] == bot.slack.calls("chat.postMessage")


def test_rollback_uses_the_smaller_rollback_approval_count(bot: Stack) -> None:
    """prod needs 2 approvals to deploy but `rollback_approvals: 1` to roll back."""
    for version in ("v1", "v2"):
        request_id = bot.deploy(f"api {version} to prod")
        bot.click(APPROVE, request_id, "U0ALICE")
        bot.click(APPROVE, request_id, "U0BOB")
        bot.wait_card(request_id, "Deployed in")
    request_id = bot.rollback("api prod")
    assert "0 of 1" in bot.wait_card(request_id, "Waiting for approval")
    bot.click(APPROVE, request_id, "U0CAROL")
    bot.wait_card(request_id, "Deployed in")
    assert f"api v1 prod - rollback {request_id}" == marker_lines(bot)[-1]
