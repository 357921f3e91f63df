"""Cross-cutting concerns, written once: Slack retries and replays, and errors.

``once`` is global Bolt middleware: a slash command or a click takes effect at most once,
however often Slack retries it or someone replays the signed request while it is still
valid. What was seen is recorded in Redis (with a TTL), never in process memory.

``guarded`` wraps every listener: Redis being down or a bug becomes a clear, short message
for the person, never a stack trace, and the log gets the error's type, never its contents.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.notify import Notifier
from bot.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

STORE_DOWN = (
    "shipbot can't reach its state store (Redis) right now, so nothing was done or recorded. "
    "Please try again in a minute."
)
INTERNAL = "shipbot hit an internal error; nothing was changed. The operators have been told."

Listener = Callable[..., Awaitable[None]]


def replay_key(body: dict[str, Any]) -> str | None:
    """What makes one delivery of a command or click unique: its trigger and action time."""
    trigger = body.get("trigger_id")
    if not trigger:
        return None
    action_ts = next((a.get("action_ts", "") for a in body.get("actions") or []), "")
    return f"{trigger}:{action_ts}" if action_ts else str(trigger)


def once(store: Store) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def middleware(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        key = replay_key(body)
        if key is None:
            return await next()  # type: ignore[func-returns-value]
        try:
            first = await store.first_sighting(key)
        except StoreUnavailable:
            return await _store_down(body)
        if not first:
            log.info("ignored a repeated delivery of %s", key)
            return BoltResponse(status=200, body="")
        return await next()  # type: ignore[func-returns-value]

    return middleware


async def _store_down(body: dict[str, Any]) -> BoltResponse:
    log.warning("Redis unavailable while answering Slack")
    if body.get("command"):
        return _ephemeral_response(STORE_DOWN)
    if body.get("response_url"):
        await _respond(body["response_url"], STORE_DOWN)
    return BoltResponse(status=200, body="")


def guarded(fn: Listener, notifier: Notifier) -> Listener:
    """A Bolt listener taking (ack, body) with errors turned into a message for the person."""

    @functools.wraps(fn)
    async def listener(ack: Any, body: dict[str, Any]) -> None:
        try:
            await fn(ack, body)
        except StoreUnavailable:
            log.warning("Redis unavailable in %s", fn.__name__)
            await _tell(ack, notifier, body, STORE_DOWN)
        except Exception as error:
            log.error("%s failed: %s", fn.__name__, type(error).__name__)
            await _tell(ack, notifier, body, INTERNAL)

    del listener.__wrapped__  # Bolt must see the wrapper's own parameters
    return listener


def where(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, user) of a slash command or an interaction payload."""
    if "command" in body:
        return body.get("channel_id", ""), body.get("user_id", "")
    return (body.get("channel") or {}).get("id", ""), (body.get("user") or {}).get("id", "")


async def _tell(ack: Any, notifier: Notifier, body: dict[str, Any], text: str) -> None:
    if ack.response is None:
        await ack(response_type="ephemeral", text=text)
    else:
        await notifier.tell(*where(body), text)


async def _respond(url: str, text: str) -> None:
    try:
        await AsyncWebhookClient(url, timeout=2).send(
            text=text, response_type="ephemeral", replace_original=False
        )
    except (OSError, TimeoutError) as error:
        log.warning("response_url post failed: %s", type(error).__name__)


def _ephemeral_response(text: str) -> BoltResponse:
    body = json.dumps({"response_type": "ephemeral", "text": text})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})
