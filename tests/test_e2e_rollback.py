"""End to end: /rollback over signed HTTP, run by the worker with real playbooks."""

from __future__ import annotations

import json

from tests.conftest import marker_lines
from tests.stack import Stack, reply_text

APPROVE = "shipbot_approve"


def test_rollback_returns_to_the_previous_version(bot: Stack) -> None:
    """v1 then v2, then /rollback: the playbook runs with action rollback and version v1."""
    bot.deployed("web-h5 v1 to staging")
    bot.deployed("web-h5 v2 to staging")
    request_id = bot.rollback("web-h5 staging")
    bot.wait_card(request_id, "Rolled back to")
    assert f"web-h5 v1 staging - rollback {request_id}" == marker_lines(bot)[-1]


def test_rolled_back_release_is_marked_and_announced(bot: Stack) -> None:
    """History shows the undone release as rolled back; the releases channel is told: the
    rollback's own note, and the undone release's note updated to say so."""
    bot.deployed("web-h5 v1 to staging")
    undone = bot.deployed("web-h5 v2 to staging")
    request_id = bot.rollback("web-h5 staging")
    bot.wait_card(request_id, "Rolled back to")
    title = "Rolled back web-h5 in staging to v1 (from v2)"
    bot.slack.wait_for(lambda: [m for m in bot.releases(request_id) if m.text == title])
    marked = "Released web-h5 v2 to staging, since rolled back"
    bot.slack.wait_for(lambda: [m for m in bot.releases(undone) if m.text == marked])
    history = reply_text(bot.command("history web-h5 staging", command="/shipbot"))
    line = next(line for line in history.splitlines() if undone in line)
    assert "*rolled back*" in line


def test_a_second_rollback_goes_further_back_not_forward(bot: Stack) -> None:
    """v1, v2, v3; rollback -> v2; rollback again -> v1, never back to the undone v3."""
    for version in ("v1", "v2", "v3"):
        bot.deployed(f"web-h5 {version} to staging")
    first = bot.rollback("web-h5 staging")
    bot.wait_card(first, "Rolled back to")
    second = bot.rollback("web-h5 staging")
    bot.wait_card(second, "Rolled back to")
    assert [f"web-h5 v2 staging - rollback {first}", f"web-h5 v1 staging - rollback {second}"] == (
        marker_lines(bot)[-2:]
    )


def test_rollback_to_a_named_version(bot: Stack) -> None:
    """`/rollback web-h5 staging to v1` skips over v2."""
    for version in ("v1", "v2", "v3"):
        bot.deployed(f"web-h5 {version} to staging")
    request_id = bot.rollback("web-h5 staging to v1")
    bot.wait_card(request_id, "Rolled back to")
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
    bot.wait_card(request_id, "Rolled back to")
    assert f"api v1 prod - rollback {request_id}" == marker_lines(bot)[-1]


def test_a_rollback_says_rolling_back_and_rolled_back_everywhere(bot: Stack) -> None:
    """Its card reads Rolling back while it runs and Rolled back to when done, never Deploy;
    history says rolled back to, from which version, and the undone release rolled back."""
    gate = bot.workdir / "gate"
    gate.touch()
    bot.deployed("slow v1 to staging")
    undone = bot.deployed("slow v2 to staging")
    gate.unlink()
    request_id = bot.rollback("slow staging")
    running = bot.wait_card(request_id, "*Rolling back* to `v1`")
    gate.touch()
    done = bot.wait_card(request_id, "Rolled back to `v1` in")
    for card in (running, done):
        assert "Roll back slow in staging to v1" in card and "Deploy" not in card
    history = reply_text(bot.command("history slow staging", command="/shipbot")).splitlines()
    assert "*rolled back to* `v1` (from `v2`)" in next(x for x in history if request_id in x)
    assert "`v2` *rolled back*" in next(x for x in history if undone in x)


def test_a_rollback_overtaken_by_another_release_is_not_run(bot: Stack) -> None:
    """api v1, v2; a rollback waits for its approval while v3 is deployed. Approved after
    that, it is not run (it would undo v3 unasked): its card and thread say why."""
    for version in ("v1", "v2"):
        approved_deploy(bot, f"api {version} to prod")
    rollback = bot.rollback("api prod")
    bot.wait_card(rollback, "Waiting for approval")
    approved_deploy(bot, "api v3 to prod")
    bot.click(APPROVE, rollback, "U0CAROL")
    card = bot.wait_card(rollback, "Not run")
    assert "changed since this rollback was asked for (prod=v2 → prod=v3)" in card
    assert not [line for line in marker_lines(bot) if " rollback " in line]
    thread = bot.slack.wait_for(lambda: bot.thread(rollback))
    assert "was not run" in (thread[0].text or "")


def approved_deploy(bot: Stack, text: str) -> str:
    """/deploy, approved by two approvers, and done."""
    request_id = bot.deploy(text)
    bot.click(APPROVE, request_id, "U0ALICE")
    bot.click(APPROVE, request_id, "U0BOB")
    bot.wait_card(request_id, "Deployed in")
    return request_id


def test_rollback_while_deploys_run_or_wait_is_refused_and_says_how_to_undo_them(
    bot: Stack,
) -> None:
    """v1 runs; v2 is deploying and v3 waits behind it: /rollback would skip over them, so it
    is refused, naming both, Stop for the running one and /shipbot cancel for the queued one;
    no rollback is created."""
    gate = bot.workdir / "gate"
    gate.touch()
    bot.deployed("slow v1 to staging")
    gate.unlink()
    running = bot.deploy("slow v2 to staging")
    bot.wait_card(running, "Deploying")
    queued = bot.deploy("slow v3 to staging")
    answer = reply_text(bot.command("slow staging", command="/rollback"))
    assert f"`{running}` (deploy slow v2 to staging, running)" in answer
    assert f"`{queued}` (deploy slow v3 to staging, queued)" in answer
    assert "*Stop*" in answer and "`/shipbot cancel <request-id>`" in answer
    gate.touch()
    bot.wait_card(queued, "Deployed in")
    assert not any("Roll back" in json.dumps(m.blocks) for m in bot.slack.messages("C0DEPLOY"))


def test_a_rolled_back_version_is_named_as_undone_with_the_way_back(bot: Stack) -> None:
    """After v2 was rolled back, `/rollback ... to v2` says it was undone and how to deploy
    it again, instead of claiming it never succeeded."""
    bot.deployed("web-h5 v1 to staging")
    undone = bot.deployed("web-h5 v2 to staging")
    bot.wait_card(bot.rollback("web-h5 staging"), "Rolled back to")
    bot.deployed("web-h5 v3 to staging")
    answer = reply_text(bot.command("web-h5 staging to v2", command="/rollback"))
    assert f"`v2` was deployed to `staging` (`{undone}`) and later rolled back" in answer
    assert "`/deploy web-h5 v2 to staging`" in answer
