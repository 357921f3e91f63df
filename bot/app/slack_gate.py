"""The gate in front of Bolt on ``POST /slack/events``: only what Slack signed, in the shapes
shipbot handles, goes on to Bolt; everything else is answered here, with a short reason.

1. The signature (https://docs.slack.dev/authentication/verifying-requests-from-slack):
   ``X-Slack-Request-Timestamp`` is an integer within 5 minutes of now, and
   ``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` under the
   signing secret. Otherwise 401, whatever the body holds.
2. The body, once signed: UTF-8, form-encoded, and either a slash command
   (https://docs.slack.dev/interactivity/implementing-slash-commands) or an interaction
   payload of type ``block_actions``
   (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload), or of type
   ``view_submission`` (a modal submitted: https://docs.slack.dev/reference/interaction-payloads/
   view-interactions-payload), with the fields shipbot and Bolt read, of the right types.
   Otherwise 400.

Slack's SSL check (``ssl_check=1``), which Slack may send unsigned, is answered 200 and does
nothing. The gate parses the body once; Bolt gets the parsed fields (Bolt's own parser reads a
slash command whose text contains the word "payload" as an empty request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_AGE_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SSL_CHECK = re.compile(rb"(?:^|&)ssl_check=1(?:&|$)")


@dataclass(frozen=True)
class Answer:
    """The gate's own answer: the request goes no further."""

    status: int
    reason: str


@dataclass(frozen=True)
class Admitted:
    """A signed, well-formed request, parsed: what Bolt gets."""

    body: dict[str, Any]


SSL_CHECK = Answer(200, "")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Ref(_Loose):
    """``user`` or ``channel``: an object with a non-empty ``id``."""

    id: str = Field(min_length=1)


class _Action(_Loose):
    action_id: str = Field(min_length=1)
    value: str = ""
    action_ts: str = ""


class BlockActions(BaseModel):
    """A button click, with the fields shipbot or Bolt read; other fields are dropped."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: Literal["block_actions"]
    user: _Ref
    channel: _Ref
    actions: list[_Action] = Field(min_length=1)
    trigger_id: str = ""
    api_app_id: str = ""
    token: str = ""
    response_url: str = ""
    is_enterprise_install: bool = False
    team: dict[str, Any] | None = None
    enterprise: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    state: dict[str, Any] | None = None


class _View(_Loose):
    """The submitted view: which modal (callback_id), what it carried, what was typed."""

    id: str = Field(min_length=1)
    callback_id: str = Field(min_length=1)
    private_metadata: str = ""
    state: dict[str, Any] = Field(default_factory=dict)


class ViewSubmission(BaseModel):
    """A modal submitted, with the fields shipbot or Bolt read; other fields are dropped."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: Literal["view_submission"]
    user: _Ref
    view: _View
    trigger_id: str = ""
    api_app_id: str = ""
    token: str = ""
    is_enterprise_install: bool = False
    team: dict[str, Any] | None = None
    enterprise: dict[str, Any] | None = None
    response_urls: list[Any] = Field(default_factory=list)


_INTERACTIONS: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
}


class SlashCommand(BaseModel):
    """The form Slack posts for a slash command; fields it does not document are dropped."""

    model_config = ConfigDict(extra="ignore")

    command: str = Field(pattern=r"^/\S")
    user_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    text: str = ""
    trigger_id: str = ""
    response_url: str = ""
    team_id: str = ""
    team_domain: str = ""
    enterprise_id: str = ""
    enterprise_name: str = ""
    channel_name: str = ""
    user_name: str = ""
    api_app_id: str = ""
    is_enterprise_install: str = ""
    token: str = ""


def admit(raw: bytes, headers: Mapping[str, str], secret: bytes, now: float) -> Admitted | Answer:
    """What to do with one request to /slack/events (``headers`` with lower-case names)."""
    if _SSL_CHECK.search(raw):
        return SSL_CHECK
    if problem := _signature_problem(raw, headers, secret, now):
        return Answer(401, problem)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Answer(400, "the body is not UTF-8")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or text.startswith("{"):
        return Answer(400, "a JSON body (Events API): shipbot takes slash commands and clicks")
    return _parse_form(form_fields(text))


def form_fields(text: str) -> dict[str, str]:
    """``dict(parse_qsl(text, keep_blank_values=True))``, at a third of its cost: a form's
    fields by name (the last of a repeated name wins), each unquoted (``+`` is a space)."""
    fields: dict[str, str] = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            fields[unquote_plus(name)] = unquote_plus(value)
    return fields


def _signature_problem(
    raw: bytes, headers: Mapping[str, str], secret: bytes, now: float
) -> str | None:
    timestamp = headers.get("x-slack-request-timestamp", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Slack-Request-Timestamp is missing or not an integer"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "X-Slack-Request-Timestamp is more than 5 minutes away from now"
    signed = b"v0:" + timestamp.encode() + b":" + raw
    expected = b"v0=" + hmac.new(secret, signed, hashlib.sha256).hexdigest().encode()
    given = headers.get("x-slack-signature", "").encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        return "X-Slack-Signature does not match"
    return None


def _parse_form(form: dict[str, str]) -> Admitted | Answer:
    if "payload" in form:
        return _interaction(form["payload"])
    if "command" in form:
        return _validated(SlashCommand, form, "slash command")
    return Answer(400, "neither a slash command nor an interaction payload")


def _interaction(text: str) -> Admitted | Answer:
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return Answer(400, "payload is not JSON")
    if not isinstance(payload, dict):
        return Answer(400, "payload is not a JSON object")
    kind = payload.get("type")
    model = _INTERACTIONS.get(kind) if isinstance(kind, str) else None
    if model is None:
        shown = f"`{kind[:40]}`" if isinstance(kind, str) else "without a type"
        return Answer(
            400, f"shipbot handles block_actions and view_submission payloads, not one {shown}"
        )
    return _validated(model, payload, f"{kind} payload")


def _validated(model: type[BaseModel], fields: dict[str, Any], what: str) -> Admitted | Answer:
    try:
        parsed = model.model_validate(fields)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return Answer(
            400, f"malformed {what}: {where} {_PROBLEMS.get(first['type'], 'is invalid')}"
        )
    return Admitted(parsed.model_dump(exclude_unset=True))


_PROBLEMS = {
    "missing": "is missing",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must start with /",
    "literal_error": "has the wrong value",
}
