"""Checks `shipbot serve` and `shipbot socket` make once, before they answer anyone.

- Slack takes the bot token (``auth.test``). A token Slack refuses stops the process with
  Slack's reason; Slack unreachable is retried, with a growing delay, said in the log.
  What ``auth.test`` answered becomes Bolt's authorization, so Bolt never calls it again.
- Redis answers. If not, the log says so and the process serves anyway (``/healthz`` answers
  503 and people are told shipbot can't reach its state store until Redis is back).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
from redis.exceptions import RedisError
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.connection import RedisTarget

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (1, 2, 5, 10, 30)
# `shipbot serve` checks the token once, in the parent, and hands what auth.test said to its
# HTTP processes through this variable (it holds ids only, never the token).
IDENTITY_VARIABLE = "SHIPBOT_BOT_IDENTITY"
_TOKENS = ("bot_token", "user_token")
# Slack's error codes for its own trouble, not the token's (https://docs.slack.dev/reference/methods/auth.test)
_SLACK_TROUBLE = {"ratelimited", "fatal_error", "internal_error", "service_unavailable"}

Sleep = Callable[[float], Awaitable[None]]


class TokenRefused(Exception):
    """Slack refused SLACK_BOT_TOKEN; retrying would never succeed."""


async def bot_identity(api_url: str, token: str, sleep: Sleep = asyncio.sleep) -> AuthorizeResult:
    """Who the bot token says the bot is, once Slack has answered; raises TokenRefused."""
    client = AsyncWebClient(token=token, base_url=api_url, timeout=5, retry_handlers=[])
    for attempt in itertools.count(1):
        try:
            answer = await client.auth_test()
        except SlackApiError as error:
            if refusal := _refusal(error):
                raise TokenRefused(refusal) from None
            problem = _trouble(error)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            problem = str(error) or type(error).__name__
        else:
            if not answer.get("bot_id"):
                raise TokenRefused("not a bot token: use the xoxb- token of the app's bot user")
            return AuthorizeResult.from_auth_test_response(
                bot_token=token, auth_test_response=answer
            )
        delay = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]
        log.warning(
            "Slack's Web API is unreachable at %s (%s); retrying in %d s (attempt %d)",
            api_url,
            problem,
            delay,
            attempt,
        )
        await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop only returns or raises


def _refusal(error: SlackApiError) -> str | None:
    """Slack's reason when it answered and refused the token (invalid_auth, ...), else None."""
    code = _code(error)
    refused = error.response.status_code == 200 and code and code not in _SLACK_TROUBLE
    return code if refused else None


def _trouble(error: SlackApiError) -> str:
    """Slack's own trouble (an HTTP error, an overload) as a short text."""
    code = _code(error)
    return f"HTTP {error.response.status_code}" + (f", {code}" if code else "")


def _code(error: SlackApiError) -> str:
    data = error.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def identity_to_env(identity: AuthorizeResult) -> str:
    """The identity without its tokens, for IDENTITY_VARIABLE."""
    return json.dumps({k: v for k, v in identity.items() if k not in _TOKENS})


def identity_from_env(environ: Mapping[str, str], token: str) -> AuthorizeResult | None:
    """The identity the parent process checked, with the bot token; None if there is none."""
    text = environ.get(IDENTITY_VARIABLE)
    if not text:
        return None
    return AuthorizeResult(**json.loads(text), bot_token=token)


async def report_redis(target: RedisTarget) -> None:
    """Say in the log when Redis does not answer; never fails."""
    redis = target.client()
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        log.warning(
            "Redis is unreachable at %s (%s): serving anyway; /healthz answers 503 and "
            "people are told shipbot can't reach its state store until it is back",
            target,
            type(error).__name__,
        )
    finally:
        await redis.aclose()
