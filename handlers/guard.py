"""Cross-cutting concerns, written once: which delivery is which, and errors.

``delivery_key`` names one Slack delivery of a command or click; the store marks it seen in
the same atomic script as the transition it causes, so Slack retries (X-Slack-Retry-Num) and
replays of a signed request within its validity window take effect at most once.

``guarded`` wraps every listener: Redis being down or a bug becomes a clear, short message
for the person, never a stack trace, and the log gets the error's type, never its contents.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.notify import Notifier
from bot.store import StoreUnavailable

log = logging.getLogger(__name__)

STORE_DOWN = (
    "shipbot can't reach its state store (Redis) right now, so nothing was done or recorded. "
    "Please try again in a minute."
)
INTERNAL = "shipbot hit an internal error; nothing was changed. The operators have been told."

Listener = Callable[..., Awaitable[None]]


def delivery_key(body: dict[str, Any]) -> str:
    """What makes one delivery of a command or click unique: its trigger and action time."""
    trigger = str(body.get("trigger_id") or "")
    action_ts = next((a.get("action_ts", "") for a in body.get("actions") or []), "")
    return f"{trigger}:{action_ts}" if trigger and action_ts else trigger


def where(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, user) of a slash command or an interaction payload."""
    if "command" in body:
        return body.get("channel_id", ""), body.get("user_id", "")
    return (body.get("channel") or {}).get("id", ""), (body.get("user") or {}).get("id", "")


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


async def _tell(ack: Any, notifier: Notifier, body: dict[str, Any], text: str) -> None:
    """A command's answer carries the text; a click is acked and told with an ephemeral."""
    if "command" in body and ack.response is None:
        await ack(response_type="ephemeral", text=text)
        return
    if ack.response is None:
        await ack()
    await notifier.tell(*where(body), text)
