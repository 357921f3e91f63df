"""Requests built and signed exactly as Slack sends them to /slack/events.

Signing follows https://docs.slack.dev/authentication/verifying-requests-from-slack:
``X-Slack-Signature = "v0=" + hex(HMAC-SHA256(secret, f"v0:{timestamp}:{body}"))``.
Payload shapes follow https://docs.slack.dev/interactivity/implementing-slash-commands and
https://docs.slack.dev/reference/interaction-payloads/block_actions-payload and
https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload (view_submission).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .slack_api import BOT_ID, BOT_USER_ID, TEAM_ID

DEFAULT_SIGNING_SECRET = "test-signing-secret"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
VERIFICATION_TOKEN = "fakeVerificationToken"  # the deprecated "token" field Slack still sends
API_APP_ID = "A0SHIPBOT"
TEAM_DOMAIN = "fake"

_sequence = itertools.count(1)


@dataclass(frozen=True)
class SignedRequest:
    """A request body and the headers Slack would send with it."""

    body: bytes
    headers: dict[str, str]

    def form(self) -> dict[str, str]:
        """The form fields of the body."""
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def payload(self) -> dict[str, Any]:
        """The decoded ``payload`` field of an interactivity request."""
        return json.loads(self.form()["payload"])


def sign(
    body: bytes | str,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = FORM_CONTENT_TYPE,
) -> dict[str, str]:
    """Headers Slack sends with body: Content-Type, timestamp and v0 signature."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def signed(
    body: bytes | str,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
    content_type: str = FORM_CONTENT_TYPE,
) -> SignedRequest:
    """body with Slack's signature headers, plus any extra ones (e.g. X-Slack-Retry-Num)."""
    raw = body.encode() if isinstance(body, str) else body
    headers = sign(raw, secret, timestamp, content_type) | (extra_headers or {})
    return SignedRequest(raw, headers)


def slash_command(
    command: str,
    text: str,
    user_id: str,
    channel_id: str = "C0DEPLOY",
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    *,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> SignedRequest:
    """A signed slash-command request, form fields in the order Slack sends them."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": _channel_name(channel_id),
        "user_id": user_id,
        "user_name": user_name or _user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or _hooks_url("commands", team_id),
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return signed(urlencode(fields), secret, timestamp, extra_headers)


def block_action(
    user_id: str,
    action_id: str,
    value: str,
    message_ts: str,
    channel_id: str = "C0DEPLOY",
    block_id: str = "b",
    trigger_id: str | None = None,
    response_url: str | None = None,
    message: dict[str, Any] | None = None,
    *,
    button_text: str = "Button",
    team_id: str = TEAM_ID,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> SignedRequest:
    """A signed click on a button in a channel message: form body ``payload=<json>``."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": _container(message_ts, channel_id),
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "message": message or _bot_message(message_ts, team_id),
        "state": {"values": {}},
        "response_url": response_url or _hooks_url("actions", team_id),
        "actions": [_button(action_id, block_id, value, button_text)],
    }
    return signed(urlencode({"payload": json.dumps(payload)}), secret, timestamp, extra_headers)


def view_submission(
    user_id: str,
    view: dict[str, Any],
    values: dict[str, dict[str, str]],
    *,
    team_id: str = TEAM_ID,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
) -> SignedRequest:
    """A signed submission of ``view`` (as views.open answered it), the person having typed
    ``values`` ({block_id: {action_id: text}}) into its plain_text_input elements."""
    state = {
        block: {
            action: {"type": "plain_text_input", "value": text} for action, text in typed.items()
        }
        for block, typed in values.items()
    }
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return signed(urlencode({"payload": json.dumps(payload)}), secret, timestamp, extra_headers)


def new_trigger_id() -> str:
    """A unique trigger_id shaped like Slack's ("<digits>.<digits>.<hex>")."""
    return f"{next(_sequence)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = _user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _container(message_ts: str, channel_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }


def _button(action_id: str, block_id: str, value: str, text: str) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }


def _bot_message(ts: str, team_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "team": team_id,
        "text": "",
        "ts": ts,
        "blocks": [],
    }


def _user_name(user_id: str) -> str:
    return user_id.lower()


def _channel_name(channel_id: str) -> str:
    return channel_id.lower()


def _hooks_url(kind: str, team_id: str) -> str:
    """A response_url on hooks.slack.com: pass a FakeSlack.response_url to actually use one."""
    return f"https://hooks.slack.com/{kind}/{team_id}/{next(_sequence)}/{secrets.token_hex(12)}"
