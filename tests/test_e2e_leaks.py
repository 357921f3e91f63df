"""End to end: what a deploy tool prints reaches Slack without its secrets. A real playbook,
run by the worker, fails with a GitLab token and a bearer token in its stderr."""

from __future__ import annotations

import json

from tests.conftest import LEAKED_BEARER, LEAKED_TOKEN
from tests.stack import Stack


def test_a_failing_task_is_described_without_the_secrets_it_printed(bot: Stack) -> None:
    """The card and the thread reply say which task failed and why, with the tokens masked;
    no call to Slack carries either token."""
    request_id = bot.deploy("leaky v1 to staging")
    card = bot.wait_card(request_id, "Failed")
    thread = bot.slack.wait_for(lambda: bot.thread(request_id))
    reply = thread[0].text or ""
    described = "log in to the registry" in card and "log in to the registry" in reply
    masked = "Bearer [redacted]" in card and "Bearer [redacted]" in reply
    sent = json.dumps([call.args for call in bot.slack.calls()])
    leaked = [secret for secret in (LEAKED_TOKEN, LEAKED_BEARER) if secret in sent]
    assert (True, True, []) == (described, masked, leaked)
