"""End to end: a playbook that outlives its catalog's timeout_seconds is stopped, its deploy
fails saying so, and its lane moves on."""

from __future__ import annotations

from tests.conftest import SLEEPY_TIMEOUT
from tests.processes import left_running, playbook_processes
from tests.stack import Stack


def test_a_playbook_past_its_timeout_fails_and_frees_the_lane(bot: Stack) -> None:
    """sleepy sleeps a minute; staging gives it a few seconds. The deploy fails with the
    timeout on its card, and the request queued behind it starts."""
    first = bot.deploy("sleepy v1 to staging")
    second = bot.deploy("sleepy v2 to staging")
    card = bot.wait_card(first, "Failed")
    bot.wait_card(second, "TASK [sleep]")
    assert f"did not finish within {SLEEPY_TIMEOUT}s, so shipbot stopped it" in card
    bot.wait_card(second, "Failed")  # it sleeps past the timeout too: the next test's lane is free


def test_a_playbook_past_its_timeout_leaves_nothing_running(bot: Stack) -> None:
    """Once the deploy has failed, neither ansible-playbook, its worker, nor the task's process
    runs on."""
    request_id = bot.deploy("sleepy v1 to staging")
    bot.wait_card(request_id, "Failed")
    pid_file = bot.workdir / f"pids-{request_id}"
    assert (True, []) == (bool(playbook_processes(pid_file)), left_running(pid_file))
