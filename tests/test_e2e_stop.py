"""End to end: the Stop button on a running deploy's card."""

from __future__ import annotations

import time

from tests.conftest import marker_lines
from tests.fakes import FakeGitLab
from tests.fakes.http_server import poll
from tests.stack import Stack

STOP = "shipbot_stop"


def test_requester_stops_a_running_playbook(bot: Stack) -> None:
    """Stop kills the playbook: the card says who stopped it, and opening the gate afterwards
    writes nothing."""
    request_id = bot.deploy("slow v1 to staging")
    bot.wait_card(request_id, "TASK [wait for gate]")
    assert 200 == bot.click(STOP, request_id, "U0DEV").status_code
    card = bot.wait_card(request_id, "Failed")
    assert "stopped by <@U0DEV>" in card
    (bot.workdir / "gate").touch()
    time.sleep(2)  # the playbook polled the gate every second; it is gone, so nothing comes
    assert [] == marker_lines(bot)


def test_someone_else_cannot_stop_it(bot: Stack) -> None:
    """A stranger's Stop is refused privately and the deploy carries on to the end."""
    request_id = bot.deploy("slow v1 to staging")
    bot.wait_card(request_id, "TASK [wait for gate]")
    bot.click(STOP, request_id, "U0STRANGER")
    refusal = poll(lambda: bot.ephemerals("U0STRANGER"), 10, AssertionError)
    assert [
        "Only <@U0DEV>, who asked for it, or an approver of slow in staging can stop this deploy."
    ] == refusal
    (bot.workdir / "gate").touch()
    bot.wait_card(request_id, "Deployed in")


def test_stop_cancels_the_gitlab_pipeline(bot: Stack, gitlab: FakeGitLab) -> None:
    """Stopped while dc-a's pipeline runs: that pipeline is canceled in GitLab, dc-b never
    gets one."""
    gitlab.hang()
    request_id = bot.deploy("pay v1 to prod")
    bot.wait_card(request_id, "/-/pipelines/")
    bot.click(STOP, request_id, "U0DEV")
    card = bot.wait_card(request_id, "Failed")
    assert [("dc-a", True)] == [
        (p.variables["SHIPBOT_DATACENTER"], p.canceled) for p in gitlab.pipelines
    ]
    assert "stopped by <@U0DEV>" in card and "`dc-b` skipped" in card


def test_a_second_stop_is_told_it_is_already_stopping(bot: Stack) -> None:
    """Two Stops count once; the second clicker is told who asked first."""
    request_id = bot.deploy("slow v1 to staging")
    bot.wait_card(request_id, "TASK [wait for gate]")
    bot.click(STOP, request_id, "U0DEV")
    bot.click(STOP, request_id, "U0DEV")
    told = poll(lambda: bot.ephemerals("U0DEV")[1:], 10, AssertionError)
    assert ["<@U0DEV> already asked to stop it; it is stopping."] == told
    bot.wait_card(request_id, "Failed")


def test_stop_after_the_end_changes_nothing(bot: Stack) -> None:
    """A Stop from an old card of a finished deploy is answered and changes nothing."""
    request_id = bot.deployed("web-h5 v1 to staging")
    bot.click(STOP, request_id, "U0DEV")
    told = poll(lambda: bot.ephemerals("U0DEV"), 10, AssertionError)
    assert ["This request is succeeded, not running: there is nothing to stop."] == told
    bot.wait_card(request_id, "Deployed in")
