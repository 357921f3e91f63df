"""bot/app/startup.py: checking the bot token with Slack at start, against FakeSlack over HTTP."""

from __future__ import annotations

import logging

import pytest

from bot.app.startup import IDENTITY_VARIABLE, bot_identity, identity_from_env, identity_to_env
from tests.fakes import BOT_ID, BOT_USER_ID, DEFAULT_BOT_TOKEN, TEAM_ID, FakeSlack


async def test_slack_trouble_is_retried_with_growing_delays(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack answering 429 twice: two retries, 1 s then 2 s, each logged; then the identity
    auth.test gave."""
    fake_slack.reset()
    fake_slack.rate_limit_next(2)
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    with caplog.at_level(logging.WARNING, logger="bot.app.startup"):
        identity = await bot_identity(fake_slack.base_url, DEFAULT_BOT_TOKEN, sleep)
    assert [1, 2] == delays
    assert 2 == sum("retrying in" in message for message in caplog.messages)
    assert (TEAM_ID, BOT_USER_ID, BOT_ID, DEFAULT_BOT_TOKEN) == (
        identity.team_id,
        identity.bot_user_id,
        identity.bot_id,
        identity.bot_token,
    )


async def test_identity_reaches_the_http_processes_without_the_token(
    fake_slack: FakeSlack,
) -> None:
    """The identity handed to uvicorn's processes holds no token; each adds its own."""
    identity = await bot_identity(fake_slack.base_url, DEFAULT_BOT_TOKEN)
    text = identity_to_env(identity)
    assert DEFAULT_BOT_TOKEN not in text
    assert identity == identity_from_env({IDENTITY_VARIABLE: text}, DEFAULT_BOT_TOKEN)
