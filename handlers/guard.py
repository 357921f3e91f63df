"""Cross-cutting concerns, written once: which delivery is which, and errors.

``delivery_key`` names one Slack delivery of a command or click; the store marks it seen in
the same atomic script as the transition it causes, so Slack retries (X-Slack-Retry-Num) and
replays of a signed request within its validity window take effect at most once.

``guarded`` wraps every listener: everything it acks goes through the one scrubber, and
Redis being down or a bug becomes a clear, short message for the person, never a stack trace;
a bug's traceback goes to the log (scrubbed, like every log record).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot import logcontext
from bot.ports.notify import Notifier
from bot.ports.store import StoreUnavailable
from bot.scrub import scrub_all

log = logging.getLogger(__name__)

STORE_DOWN = (
    "shipbot can't reach its state store (Redis) right now, so nothing was done or recorded. "
    "Please try again in a minute."
)
NO_SENDER = "This command came without a user or channel, so nothing was done."
INTERNAL = "shipbot hit an internal error; nothing was changed. The operators have been told."

Listener = Callable[..., Awaitable[None]]


def delivery_key(body: dict[str, Any]) -> str:
    """What makes one delivery of a command or click unique: its trigger and action time."""
    trigger = _text(body.get("trigger_id"))
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    action_ts = _text(first.get("action_ts")) if isinstance(first, dict) else ""
    return f"{trigger}:{action_ts}" if trigger and action_ts else trigger


def where(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, user) of a slash command or an interaction payload; "" for what is absent
    or of the wrong shape."""
    if "command" in body:
        return _text(body.get("channel_id")), _text(body.get("user_id"))
    return _id(body.get("channel")), _id(body.get("user"))


def _id(value: object) -> str:
    return _text(value.get("id")) if isinstance(value, dict) else ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class ScrubbedAck:
    """Bolt's ack, with every string it sends back to Slack passed through the scrubber."""

    def __init__(self, ack: Any) -> None:
        self._ack = ack

    @property
    def response(self) -> Any:
        return self._ack.response

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        scrubbed = {name: scrub_all(value) for name, value in kwargs.items()}
        return await self._ack(*map(scrub_all, args), **scrubbed)


def guarded(fn: Listener, notifier: Notifier) -> Listener:
    """A Bolt listener taking (ack, body) with errors turned into a message for the person,
    and its acks scrubbed."""

    @functools.wraps(fn)
    async def listener(ack: Any, body: dict[str, Any]) -> None:
        ack = ScrubbedAck(ack)
        if not _sender_known(body):  # the HTTP gate refuses these; Socket Mode may not
            log.warning("%s: no user or channel in the payload; nothing done", fn.__name__)
            await (ack(response_type="ephemeral", text=NO_SENDER) if "command" in body else ack())
            return
        channel, user = where(body)
        with logcontext.scope(user=user, channel=channel):
            await _run(fn, ack, body, notifier)

    del listener.__wrapped__  # Bolt must see the wrapper's own parameters
    return listener


async def _run(fn: Listener, ack: Any, body: dict[str, Any], notifier: Notifier) -> None:
    """The listener; its errors told to the person, a bug's traceback logged at ERROR with the
    request's fields (bound by the domain once it knows the request)."""
    try:
        await fn(ack, body)
    except StoreUnavailable:
        log.warning("Redis unavailable in %s", fn.__name__)
        await _tell(ack, notifier, body, STORE_DOWN)
    except Exception:
        log.exception("%s failed", fn.__name__)
        await _tell(ack, notifier, body, INTERNAL)


def _sender_known(body: dict[str, Any]) -> bool:
    """Whether a command names its user and channel, or a click its user."""
    channel, user = where(body)
    return bool(user and (channel or "command" not in body))


async def _tell(ack: Any, notifier: Notifier, body: dict[str, Any], text: str) -> None:
    """A command's answer carries the text; a click is acked and told with an ephemeral."""
    if "command" in body and ack.response is None:
        await ack(response_type="ephemeral", text=text)
        return
    if ack.response is None:
        await ack()
    await notifier.tell(*where(body), text)
