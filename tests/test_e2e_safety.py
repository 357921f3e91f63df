"""End to end: forged, stale, retried and replayed requests; concurrent clicks; bad input."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import CROWD, marker_lines
from tests.fakes import DEFAULT_BOT_TOKEN, DEFAULT_SIGNING_SECRET, block_action, slash_command
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
    time.sleep(1)
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
