"""bot/app/slack_gate.py: what reaches Bolt from POST /slack/events, and what is answered first.

Property tests (hypothesis) feed it arbitrary bodies and headers; the end-to-end fuzz test
(test_e2e_fuzz.py) sends malformed requests to the real server.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app.slack_gate import SSL_CHECK, Admitted, Answer, admit, form_fields
from tests.fakes import DEFAULT_SIGNING_SECRET, block_action, sign, slash_command

SECRET = DEFAULT_SIGNING_SECRET.encode()
NOW = 1_800_000_000
HEADER_TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=30)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
# Fixed work per run, and no failure when a busy machine makes data generation slow.
PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLICK_FIELDS = ["type", "user", "channel", "actions", "team", "trigger_id", "container"]


def signed_headers(body: bytes, timestamp: int = NOW) -> dict[str, str]:
    return {name.lower(): value for name, value in sign(body, timestamp=timestamp).items()}


def judge(body: bytes, headers: dict[str, str] | None = None) -> Admitted | Answer:
    return admit(body, signed_headers(body) if headers is None else headers, SECRET, NOW)


def status(verdict: Admitted | Answer) -> int:
    """The HTTP status the server answers with (Admitted: whatever Bolt says, 200 here)."""
    return 200 if isinstance(verdict, Admitted) else verdict.status


def click(**changes: Any) -> bytes:
    payload = block_action("U0ALICE", "shipbot_approve", "d-1", "1.1").payload() | changes
    return urlencode({"payload": json.dumps(payload)}).encode()


@PROPERTIES
@given(body=st.binary(max_size=300), headers=st.dictionaries(HEADER_TEXT, HEADER_TEXT))
def test_unsigned_requests_get_401_whatever_they_hold(body: bytes, headers: dict[str, str]) -> None:
    """Any body with any headers but a valid signature is answered 401 (Slack's SSL check
    aside), and never raises."""
    verdict = judge(body, {name.lower(): value for name, value in headers.items()})
    assert verdict == SSL_CHECK or 401 == status(verdict)


@PROPERTIES
@given(body=st.binary(max_size=300))
def test_signed_bytes_are_admitted_or_get_400(body: bytes) -> None:
    """A validly signed body of any bytes is admitted or refused with 400, never 401."""
    assert status(judge(body)) in (200, 400)


@PROPERTIES
@given(field=st.sampled_from(CLICK_FIELDS), value=JSON_VALUES)
def test_signed_clicks_with_any_field_value_are_admitted_or_get_400(field: str, value: Any) -> None:
    """A click with one field replaced by any JSON value is admitted or gets 400, and what is
    admitted has the shapes shipbot reads."""
    verdict = judge(click(**{field: value}))
    if isinstance(verdict, Answer):
        assert 400 == verdict.status
        return
    body = verdict.body
    assert isinstance(body["user"]["id"], str) and isinstance(body["channel"]["id"], str)
    assert all(isinstance(action["action_id"], str) for action in body["actions"])
    assert body == AsyncBoltRequest(body=body, mode="socket_mode").body  # Bolt reads it


def test_timestamps_must_be_ascii_integers() -> None:
    """Fullwidth or Arabic-Indic digits, signs, exponents and hex are not timestamps: 401."""
    body = slash_command("/deploy", "web-h5 v1 to staging", "U0DEV").body
    headers = signed_headers(body)
    verdicts = [
        status(judge(body, headers | {"x-slack-request-timestamp": timestamp}))
        for timestamp in ("\uff11\uff18", "\u0661\u0668", "+1800000000", "18e8", "0x10", "")
    ]
    assert [401] * 6 == verdicts


def test_five_minutes_old_is_accepted_and_a_second_more_is_not() -> None:
    """The signature window is 5 minutes either way, as Slack documents."""
    body = slash_command("/shipbot", "help", "U0DEV").body
    at_limit = admit(body, signed_headers(body, NOW - 300), SECRET, NOW)
    too_old = admit(body, signed_headers(body, NOW - 301), SECRET, NOW)
    assert (
        True,
        Answer(401, "X-Slack-Request-Timestamp is more than 5 minutes away from now"),
    ) == (
        isinstance(at_limit, Admitted),
        too_old,
    )


def test_command_text_with_the_word_payload_is_kept() -> None:
    """A slash command whose text says "payload" is read as that command, text intact."""
    body = slash_command("/deploy", "web-h5 v1 to prod payload fix", "U0DEV").body
    verdict = judge(body)
    assert isinstance(verdict, Admitted)
    assert ("/deploy", "web-h5 v1 to prod payload fix") == (
        verdict.body["command"],
        verdict.body["text"],
    )


def test_unsigned_ssl_check_is_answered_200() -> None:
    """Slack's SSL check, which may come unsigned, gets an empty 200 and goes no further."""
    assert SSL_CHECK == judge(b"ssl_check=1&token=abc", {})


def test_fields_slack_does_not_send_are_dropped() -> None:
    """Unknown fields of a click (here `event` and `command`, which Bolt would misread) do not
    reach Bolt."""
    verdict = judge(click(event="x", command=3))
    assert isinstance(verdict, Admitted) and not {"event", "command"} & verdict.body.keys()


FORM_TEXT = st.text(alphabet=st.sampled_from("ab=&%+2F0zé ;"), max_size=40)


@given(st.one_of(FORM_TEXT, st.text(max_size=40)))
def test_form_fields_are_what_parse_qsl_reads(text: str) -> None:
    """The gate's form reader agrees with the standard library's on any text: separators,
    blank values, repeated names, escapes (valid or not) and pluses."""
    assert dict(parse_qsl(text, keep_blank_values=True)) == form_fields(text)
