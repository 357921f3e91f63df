"""End to end: thousands of malformed requests, signed and not, against the real `shipbot serve`.

A seeded generator (the same cases every run) takes the requests Slack really sends, a slash
command and a button click, and breaks them: bodies that are not UTF-8, not a form, not JSON,
or JSON of the wrong shape in every field shipbot or Bolt reads; timestamps that are not
integers or are stale; signatures that are missing, forged, or over another body. A request
validly signed over malformed content must get 400; anything not validly signed, 401; none a
5xx. Nothing may be written: no request in Redis, no message in Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import redis

from bot.store.keys import Keys
from tests.conftest import flush_keeping_workers
from tests.fakes import DEFAULT_SIGNING_SECRET, block_action, slash_command
from tests.stack import Stack

SEED = 20261124
CASES = 3000
USER, CHANNEL = "U0FUZZ", "C0FUZZ"
FORM = "application/x-www-form-urlencoded"
JUNK: list[Any] = [
    None, True, 0, -1, 1.5, 10**30, "", "x", "\x00\n\r", "\u202e", [], [1], {}, {"id": 5},
    {"id": None}, {"id": ""}, {"id": ["U0"]}, [{"id": "U0"}], "null",
]  # fmt: skip
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]
BAD_TIMESTAMPS = [
    b"abc", b"", b"1e9", b"+1700000000", b"-1", b"0x10",
    b"1.0", b"\xd9\xa1\xd9\xa2", b"\xef\xbc\x91", b"9" * 40,
]  # fmt: skip


@dataclass(frozen=True)
class Case:
    what: str
    body: bytes
    headers: list[tuple[bytes, bytes]]
    expected: int


def signature(body: bytes, timestamp: bytes, secret: str = DEFAULT_SIGNING_SECRET) -> bytes:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp + b":" + body, hashlib.sha256)
    return b"v0=" + digest.hexdigest().encode()


def headers_for(body: bytes, content_type: str = FORM, **override: bytes) -> dict[bytes, bytes]:
    timestamp = str(int(time.time())).encode()
    return {
        b"content-type": content_type.encode(),
        b"x-slack-request-timestamp": timestamp,
        b"x-slack-signature": signature(body, timestamp),
    } | {name.replace("_", "-").encode(): value for name, value in override.items()}


class Fuzzer:
    """Malformed Slack requests from a seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def cases(self, count: int) -> Iterator[Case]:
        makers: list[Callable[[], tuple[str, bytes, str]]] = [
            self.click_with_a_broken_field,
            self.click_with_a_broken_action,
            self.payload_that_is_not_an_object,
            self.payload_of_another_type,
            self.command_missing_a_field,
            self.body_that_is_not_utf8,
            self.body_that_is_json,
            self.form_that_is_neither,
        ]
        for n in range(count):
            what, body, content_type = self.rng.choice(makers)()
            if n % 3:
                yield Case(what, body, list(headers_for(body, content_type).items()), 400)
            else:
                yield self.unsigned(what, body, content_type)

    # -- signed, malformed: 400 ------------------------------------------------------------
    def click(self) -> dict[str, Any]:
        action = self.rng.choice(["shipbot_approve", "shipbot_reject", "shipbot_cancel"])
        payload = block_action(USER, action, f"d-{self.rng.randrange(10**6)}", "1.1", CHANNEL)
        return payload.payload()

    def click_with_a_broken_field(self) -> tuple[str, bytes, str]:
        payload = self.click()
        field = self.rng.choice(["user", "channel", "actions", "type", "team", "trigger_id"])
        value = self.rng.choice([j for j in JUNK if not _fits(field, j)])
        if self.rng.random() < 0.2:
            del payload[field]
            value = "(missing)"
            if field in ("team", "trigger_id"):  # optional: break a required one as well
                payload["user"] = "U0FUZZ"
        else:
            payload[field] = value
        return f"click {field}={value!r}", _form(payload=json.dumps(payload)), FORM

    def click_with_a_broken_action(self) -> tuple[str, bytes, str]:
        payload = self.click()
        field = self.rng.choice(["action_id", "value", "action_ts"])
        value = self.rng.choice([j for j in JUNK if not isinstance(j, str)])
        payload["actions"][0][field] = value
        return f"action {field}={value!r}", _form(payload=json.dumps(payload)), FORM

    def payload_that_is_not_an_object(self) -> tuple[str, bytes, str]:
        text = self.rng.choice(
            [json.dumps(self.rng.choice(JUNK[:-1])), "{", '{"type": ', "[" * 100_000,
             '{"a": ' + "1" * 5000 + "}", "\x00", "payload", "NaN"]
        )  # fmt: skip
        return f"payload {text[:20]!r}", _form(payload=text), FORM

    def payload_of_another_type(self) -> tuple[str, bytes, str]:
        payload = self.click()
        payload["type"] = self.rng.choice(
            ["view_submission", "shortcut", "message_action", "block_suggestion",
             "interactive_message", "url_verification", "event_callback", "", "BLOCK_ACTIONS"]
        )  # fmt: skip
        return f"payload type {payload['type']!r}", _form(payload=json.dumps(payload)), FORM

    def command_missing_a_field(self) -> tuple[str, bytes, str]:
        form = slash_command("/deploy", "web-h5 v1 to staging", USER, CHANNEL).form()
        field = self.rng.choice(["command", "user_id", "channel_id"])
        if self.rng.random() < 0.5:
            del form[field]
        else:
            form[field] = "" if field != "command" else self.rng.choice(["deploy", "", " /deploy"])
        return f"command without a good {field}", _form(**form), FORM

    def body_that_is_not_utf8(self) -> tuple[str, bytes, str]:
        body = slash_command("/deploy", "web-h5 v1 to staging", USER, CHANNEL).body
        at = self.rng.randrange(len(body) + 1)
        broken = body[:at] + self.rng.choice(BAD_UTF8) + body[at:]
        return "not UTF-8", broken, FORM

    def body_that_is_json(self) -> tuple[str, bytes, str]:
        body = json.dumps(self.rng.choice([self.click(), {"type": "url_verification"}, {}]))
        content_type = self.rng.choice(["application/json", FORM, "text/plain"])
        return f"JSON as {content_type}", body.encode(), content_type

    def form_that_is_neither(self) -> tuple[str, bytes, str]:
        pairs = {
            self.rng.choice(["text", "user_id", "type", "actions", "x", "token"]): str(
                self.rng.choice(JUNK)
            )
            for _ in range(self.rng.randrange(4))
        }
        body = _form(**pairs) if pairs else self.rng.choice([b"", b"&&&", b"=", b"%zz"])
        return f"form {sorted(pairs)}", body, FORM

    # -- not validly signed: 401 -----------------------------------------------------------
    def unsigned(self, what: str, body: bytes, content_type: str) -> Case:
        headers = headers_for(body, content_type)
        how = self.rng.choice(["none", "forged", "other body", "timestamp", "stale", "no ts"])
        match how:
            case "none":
                del headers[b"x-slack-signature"]
            case "forged":
                headers[b"x-slack-signature"] = self.rng.choice(
                    [b"v0=" + b"0" * 64, b"", b"v1=abc", signature(body, b"1", "other")]
                )
            case "other body":
                headers[b"x-slack-signature"] = signature(body + b"&x=1", _now())
            case "timestamp":
                headers[b"x-slack-request-timestamp"] = self.rng.choice(BAD_TIMESTAMPS)
            case "stale":
                stale = str(int(time.time()) - self.rng.randrange(301, 10**6)).encode()
                headers |= {b"x-slack-request-timestamp": stale}
                headers[b"x-slack-signature"] = signature(body, stale)
            case "no ts":
                del headers[b"x-slack-request-timestamp"]
        return Case(f"{what}, signature: {how}", body, list(headers.items()), 401)


def _fits(field: str, value: Any) -> bool:
    """Whether ``value`` is a valid ``field`` of a click (the fuzzer wants invalid ones)."""
    if field in ("user", "channel"):
        return isinstance(value, dict) and isinstance(value.get("id"), str) and bool(value["id"])
    if field == "team":
        return value is None or isinstance(value, dict)
    if field == "trigger_id":
        return isinstance(value, str)
    return False


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def _now() -> bytes:
    return str(int(time.time())).encode()


def settled(bot: Stack, quiet: float = 1.0, timeout: float = 30.0) -> Stack:
    """The stack once an earlier test's deploy has stopped talking to Slack, with Redis and
    FakeSlack emptied again: so what this test finds written, it wrote."""
    deadline = time.monotonic() + timeout
    seen = -1
    while (calls := len(bot.slack.calls())) != seen and time.monotonic() < deadline:
        seen = calls
        time.sleep(quiet)
    flush_keeping_workers(bot.redis.url)
    bot.slack.reset()
    return bot


PERIODIC = {  # heartbeats (with each worker's running jobs), health checks, periodic jobs
    Keys().workers(),
    Keys().worker_jobs(),
    Keys().jobs(),
    f"{Keys().jobs()}:health-check",
}


def written(bot: Stack) -> list[str]:
    """What requests wrote to Redis: shipbot's keys and arq's jobs, but for what the workers
    keep on their own (heartbeats, health checks, and the queue of their periodic jobs)."""
    client = redis.Redis.from_url(bot.redis.url, decode_responses=True)
    ours = [key for key in client.keys("shipbot:*") if key not in PERIODIC]
    jobs = [key for key in client.keys("arq:*") if ":cron:" not in key]
    return sorted(ours + jobs)


def test_thousands_of_malformed_requests_get_400_or_401_and_change_nothing(bot: Stack) -> None:
    """3,000 malformed requests: signed ones get 400, the rest 401, none a 5xx, and nothing
    is written to Redis or posted to Slack."""
    wrong: list[str] = []
    bot = settled(bot)
    with httpx.Client(base_url=bot.url, timeout=10) as client:
        for case in Fuzzer(SEED).cases(CASES):
            answer = client.post("/slack/events", content=case.body, headers=case.headers)
            if answer.status_code != case.expected:
                wrong.append(f"{answer.status_code} (not {case.expected}): {case.what}")
    assert [] == wrong[:20]
    assert [] == written(bot)
    assert [] == bot.slack.calls("chat.postMessage")
