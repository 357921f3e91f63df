"""End to end: forged, stale, retried and replayed requests; concurrent clicks; bad input."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import httpx

from tests.conftest import CROWD, marker_lines
from tests.fakes import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_SIGNING_SECRET,
    SignedRequest,
    block_action,
    sign,
    signed,
    slash_command,
)
from tests.stack import Stack, reply_text

APPROVE = "shipbot_approve"


def test_forged_signature_is_refused_and_changes_nothing(bot: Stack) -> None:
    """A request signed with another secret gets 401 and creates nothing."""
    forged = slash_command("/deploy", "web-h5 v1 to staging", "U0DEV", secret="not-the-secret")
    assert 401 == bot.send(forged).status_code
    time.sleep(0.5)
    assert [] == bot.slack.calls("chat.postMessage")


def test_stale_request_is_refused(bot: Stack) -> None:
    """A correctly signed request older than five minutes gets 401."""
    stale = slash_command(
        "/deploy", "web-h5 v1 to staging", "U0DEV", timestamp=int(time.time()) - 600
    )
    assert 401 == bot.send(stale).status_code


def test_slack_retry_of_a_command_takes_effect_once(bot: Stack) -> None:
    """The same /deploy delivered again with X-Slack-Retry-Num creates one request."""
    first = slash_command("/deploy", "web-h5 v1.4.0 to staging", "U0DEV")
    retry = slash_command(
        "/deploy",
        "web-h5 v1.4.0 to staging",
        "U0DEV",
        trigger_id=first.form()["trigger_id"],
        extra_headers={"X-Slack-Retry-Num": "1"},
    )
    assert 200 == bot.send(first).status_code
    assert 200 == bot.send(retry).status_code
    bot.slack.wait_for(lambda: marker_lines(bot), timeout=60)
    time.sleep(1)
    assert 1 == len(marker_lines(bot))


def test_replayed_click_takes_effect_once(bot: Stack) -> None:
    """The identical signed Approve request sent twice counts once and says nothing more."""
    request_id = bot.deploy("web-h5 v2.3.1 to prod")
    click = block_action("U0ALICE", APPROVE, request_id, bot.card(request_id).ts, "C0DEPLOY")
    assert 200 == bot.send(click).status_code
    assert 200 == bot.send(click).status_code
    bot.wait_card(request_id, "1 of 2")
    time.sleep(0.5)
    assert [] == bot.ephemerals("U0ALICE")


def test_twenty_concurrent_approvals_start_exactly_one_deploy(bot: Stack) -> None:
    """Twenty approvers clicking at once: one deploy, one release note."""
    request_id = bot.deploy("crowd v3.0.0 to prod")
    ts = bot.card(request_id).ts
    clicks = [block_action(user, APPROVE, request_id, ts, "C0DEPLOY") for user in CROWD]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda c: bot.send(c).status_code, clicks))
    assert [200] * 20 == statuses
    bot.wait_card(request_id, "Deployed in")
    bot.slack.wait_for(lambda: bot.releases(request_id))
    time.sleep(1)  # quiet: a second deploy or release note would show by now
    assert [f"crowd v3.0.0 prod - deploy {request_id}"] == marker_lines(bot)
    assert 1 == len(bot.releases(request_id))


def test_unknown_service_names_the_valid_ones(bot: Stack) -> None:
    """An unknown service gets an ephemeral message listing known services."""
    text = reply_text(bot.command("web-h6 v1 to prod"))
    assert "Unknown service `web-h6`" in text and "`web-h5`" in text


def test_unknown_environment_names_the_valid_ones(bot: Stack) -> None:
    """An unknown environment gets a message listing the service's environments."""
    text = reply_text(bot.command("web-h5 v1 to qa"))
    assert "no environment `qa`" in text and "`prod`" in text and "`staging`" in text


def test_version_with_shell_metacharacters_is_refused(bot: Stack) -> None:
    """`v1;rm -rf /` never reaches a playbook; the message says what a version may hold."""
    text = reply_text(bot.command("web-h5 v1;reboot to staging"))
    assert "version" in text
    assert [] == bot.slack.calls("chat.postMessage")


def test_missing_environment_is_named(bot: Stack) -> None:
    """`/deploy web-h5 v1` says the environment is missing."""
    assert "environment" in reply_text(bot.command("web-h5 v1")).lower()


def test_deploy_without_arguments_explains_the_commands(bot: Stack) -> None:
    """`/deploy` alone answers with help and examples."""
    text = reply_text(bot.command(""))
    assert "/deploy" in text and "/shipbot" in text


def test_secrets_never_reach_the_logs(bot: Stack) -> None:
    """Neither the bot token nor the signing secret appears in any log line."""
    request_id = bot.deploy("web-h5 v1.4.0 to staging")
    bot.wait_card(request_id, "Deployed in")
    for name in ("serve", "worker"):
        log = bot.log(name)
        assert DEFAULT_BOT_TOKEN not in log and DEFAULT_SIGNING_SECRET not in log


def test_healthz_and_prometheus_metrics_answer(bot: Stack) -> None:
    """GET /healthz says Redis is ok; GET /metrics serves shipbot's Prometheus counters."""
    bot.command("help", command="/shipbot")
    health = httpx.get(f"{bot.url}/healthz", timeout=5)
    metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
    assert (200, {"ok": True, "redis": "ok"}) == (health.status_code, health.json())
    assert 'shipbot_slack_requests_total{status="200"}' in metrics


def test_unsigned_malformed_request_gets_401_and_no_trace(bot: Stack) -> None:
    """A body Bolt cannot even parse, with no signature: 401, and no stack trace in the log."""
    body = b"payload=%7Bnot-json"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=5)
    assert 401 == answer.status_code
    assert "Traceback" not in bot.log("serve")


# -- malformed input: 400 when signed, 401 when not, never a 5xx (issue 7) --------------------


def post(bot: Stack, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)


def click_payload(**changes: object) -> dict[str, object]:
    """A real block_actions payload with some fields replaced."""
    payload = block_action("U0ALICE", APPROVE, "d-x", "1.1").payload()
    return {**payload, **changes}


def signed_click(payload: object) -> SignedRequest:
    return signed(urlencode({"payload": json.dumps(payload)}))


def test_signed_body_that_is_not_utf8_gets_400(bot: Stack) -> None:
    """A correctly signed body that is not UTF-8 gets 400 and its reason."""
    answer = bot.send(signed(b"command=%2Fdeploy&text=\xff\xfe&user_id=U0DEV"))
    assert (400, {"error": "the body is not UTF-8"}) == (answer.status_code, answer.json())


def test_unsigned_body_that_is_not_utf8_gets_401(bot: Stack) -> None:
    """A body that is not UTF-8, with no valid signature: 401 like any forgery."""
    forged = signed(b"\xff\xfe\x00payload", secret="not-the-secret")
    assert 401 == bot.send(forged).status_code


def test_timestamp_that_is_not_an_integer_gets_401(bot: Stack) -> None:
    """X-Slack-Request-Timestamp `abc`, empty or `1e9` is not validly signed: 401 each."""
    body = slash_command("/deploy", "web-h5 v1 to staging", "U0DEV").body
    statuses = []
    for timestamp in ("abc", "", "1e9", "0x10", "-1"):
        headers = {**sign(body), "X-Slack-Request-Timestamp": timestamp}
        statuses.append(post(bot, body, headers).status_code)
    assert [401] * 5 == statuses


def test_clicks_with_fields_of_the_wrong_shape_get_400(bot: Stack) -> None:
    """Signed clicks whose user, channel, actions or type has the wrong shape: 400 each,
    and nobody is told anything."""
    payloads = [
        click_payload(user="U0ALICE"),
        click_payload(channel="C0DEPLOY"),
        click_payload(actions={"action_id": APPROVE}),
        click_payload(actions=[]),
        click_payload(actions=["shipbot_approve"]),
        click_payload(type=7),
        click_payload(team=7),
        [click_payload()],
        "block_actions",
    ]
    statuses = [bot.send(signed_click(p)).status_code for p in payloads]
    assert [400] * len(payloads) == statuses
    time.sleep(0.5)
    assert [] == bot.ephemerals("U0ALICE")


def test_command_without_user_id_gets_400_and_a_warning(bot: Stack) -> None:
    """A signed /deploy without user_id is malformed: 400 naming the field, logged at WARNING
    and never at ERROR."""
    form = slash_command("/deploy", "web-h5 v1 to staging", "U0DEV").form()
    del form["user_id"]
    logged_before = len(bot.log("serve"))
    answer = bot.send(signed(urlencode(form)))
    assert 400 == answer.status_code and "user_id" in answer.json()["error"]
    log = bot.log("serve")[logged_before:].splitlines()
    assert any(" WARNING " in line and "user_id" in line for line in log)
    assert [] == [line for line in log if " ERROR " in line]


def test_json_body_is_refused_with_a_reason(bot: Stack) -> None:
    """A signed Events API body (JSON) is not something shipbot takes: 400 saying so."""
    answer = bot.send(
        signed(json.dumps({"type": "event_callback"}), content_type="application/json")
    )
    assert 400 == answer.status_code and "Events API" in answer.json()["error"]


def test_request_bodies_never_reach_the_log(bot: Stack) -> None:
    """Forged, malformed and unhandled requests are logged as a short summary: what they
    carry (text, values, names) never appears in the log."""
    marker = "INJECTED-7f3a"
    body = f"command=%2Fdeploy&text={marker}&user_id=U0DEV&channel_id=C0D"
    bot.send(signed(body, secret="not-the-secret"))
    bot.send(signed_click(click_payload(user={"name": marker})))
    bot.send(signed_click(click_payload(actions=[{"action_id": "other", "value": marker}])))
    assert marker not in bot.log("serve")


def test_unknown_button_gets_400_naming_it(bot: Stack) -> None:
    """A signed click on a button shipbot does not have: 400, not Bolt's 404 and warning."""
    answer = bot.send(signed_click(click_payload(actions=[{"action_id": "other_button"}])))
    assert (400, {"error": "shipbot has no button `other_button`"}) == (
        answer.status_code,
        answer.json(),
    )


def test_command_whose_reason_says_payload_is_answered(bot: Stack) -> None:
    """`/deploy ... payload service fix`: the word "payload" in a command's text does not
    make it unreadable (Bolt's own parser reads such a form as an empty request)."""
    request_id = bot.deploy("web-h5 v2.0.0 to prod payload service fix")
    assert request_id.startswith("d-")


# -- commands that do not exist (issue 7, item 22) ------------------------------------------


def test_unknown_command_is_answered_with_the_commands_that_exist(bot: Stack) -> None:
    """/deploi gets an ephemeral list of shipbot's commands, not Bolt's "unhandled request"."""
    answer = bot.command("web-h5 v1 to prod", command="/deploi")
    text = reply_text(answer)
    assert 200 == answer.status_code
    assert all(name in text for name in ("/deploy", "/rollback", "/shipbot"))
    assert "/deploi" in text


# -- every ack is scrubbed (issue 7) ----------------------------------------------------------


def test_ack_text_is_scrubbed(bot: Stack) -> None:
    """A token typed as a service name is not echoed back: the ack goes through the scrubber."""
    text = reply_text(bot.command("xoxb-1234-5678-abcdef v1 to prod"))
    assert "Unknown service `[redacted]`" in text and "xoxb" not in text


# -- start-up (issue 7, item 10) ------------------------------------------------------------


def test_serve_says_where_it_listens(bot: Stack) -> None:
    """`shipbot serve` logs one line once it listens, with the address and port."""
    lines = [line for line in bot.log("serve").splitlines() if "listening on" in line]
    assert [f"shipbot serve: listening on http://127.0.0.1:{bot.port}"] == [
        line.split(": ", 1)[1] for line in lines
    ]
