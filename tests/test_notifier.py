"""SlackNotifier over FakeSlack's Web API: every string it sends passes the one scrubber, once,
whatever method carries it (a card, its updates, a thread reply, an ephemeral). Real Redis."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog.model import load_catalog
from bot.models import DeployRequest, Step, StepStatus
from bot.ports.store import ClaimOutcome
from bot.store.requests import RedisStore, connect
from handlers.blocks import card
from handlers.coalesce import Coalescer
from handlers.notifier import SlackNotifier
from tests.conftest import write_catalog
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer
from tests.waiting import until

TOKEN = "glpat-Leaked0123456789abcd"
BEARER = "s3cr3t.b34r3r-t0k3n"
FAILED_TASK = f"TASK [log in] failed on localhost: Authorization: Bearer {BEARER}"


@pytest.fixture
async def notifier(
    redis_server: RedisServer, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[SlackNotifier]:
    fake_slack.reset()
    redis = connect(redis_server.url)
    await redis.flushdb()
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake_slack.base_url)
    yield SlackNotifier(client, RedisStore(redis), load_catalog(write_catalog(tmp_path)))
    await redis.aclose()


async def running(notifier: SlackNotifier, detail: str) -> DeployRequest:
    """A request of web-h5 to staging, running, its one step saying ``detail``."""
    request = DeployRequest(
        id="d-leak", service="web-h5", environment="staging", version="v1", requester="U0DEV",
        channel="C0DEPLOY", catalog_revision="abc",
        steps=[Step(target="", status=StepStatus.RUNNING)],
    )  # fmt: skip
    await notifier.store.create(request)
    assert ClaimOutcome.RUNNING == (await notifier.store.claim(request, "w1")).outcome
    request.steps[0].detail = detail
    await notifier.store.save_steps(request)
    return request


async def logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The log records, once there are any (within five seconds)."""
    return await until(lambda: caplog.records, "a log record", timeout=5)


def sent(slack: FakeSlack, method: str) -> str:
    """Everything the notifier sent with ``method``, as one JSON text."""
    return json.dumps([call.args for call in slack.calls(method)])


async def test_tool_output_on_a_new_card_is_scrubbed(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """A step detail holding a bearer token reaches the card's blocks masked, still readable."""
    await running(notifier, FAILED_TASK)
    await notifier.show("d-leak")
    posted = sent(fake_slack, "chat.postMessage")
    assert (False, True) == (BEARER in posted, "Authorization: Bearer [redacted]" in posted)


async def test_tool_output_in_a_card_update_is_scrubbed(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """A token that appears once the card exists is masked in the chat.update too."""
    request = await running(notifier, "TASK [log in]")
    await notifier.show(request.id)
    request.steps[0].detail = f"job log: git clone https://ci:{TOKEN}@git.example.com/a.git"
    await notifier.store.save_steps(request)
    await notifier.show(request.id, final=True)
    updated = sent(fake_slack, "chat.update")
    assert (False, True) == (TOKEN in updated, "https://[redacted]@git.example.com" in updated)


async def test_thread_reply_is_scrubbed(notifier: SlackNotifier, fake_slack: FakeSlack) -> None:
    """The failure told in the card's thread loses its token and keeps its words."""
    request = await running(notifier, "")
    await notifier.thread(request, f"<@U0DEV> the deploy failed: login refused for {TOKEN}")
    expected = ["<@U0DEV> the deploy failed: login refused for [redacted]"]
    assert expected == [message.text for message in fake_slack.messages("C0DEPLOY")]


async def test_ephemeral_answer_is_scrubbed(notifier: SlackNotifier, fake_slack: FakeSlack) -> None:
    """What one person is told is scrubbed like everything else."""
    await notifier.tell("C0DEPLOY", "U0DEV", f"refused: {FAILED_TASK}")
    expected = ["refused: TASK [log in] failed on localhost: Authorization: Bearer [redacted]"]
    assert expected == [call.args["text"] for call in fake_slack.calls("chat.postEphemeral")]


async def test_a_card_without_secrets_is_sent_exactly_as_rendered(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """Scrubbing changes nothing else: ids, action values and text arrive as rendered."""
    await running(notifier, "TASK [copy site] changed on localhost")
    await notifier.show("d-leak")
    request = await notifier.store.get("d-leak")
    assert request is not None
    text, blocks = card(request, [])
    posted = fake_slack.calls("chat.postMessage")[0].args
    assert (text, blocks) == (posted["text"], posted["blocks"])


async def test_slack_unreachable_is_one_warning_line_saying_why(
    notifier: SlackNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack out of reach is expected: a WARNING naming the failure, without a traceback."""
    notifier.client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    await notifier.tell("C0DEPLOY", "U0DEV", "hello")
    (record,) = caplog.records
    assert (logging.WARNING, None) == (record.levelno, record.exc_info)
    assert "Cannot connect to host 127.0.0.1:9" in record.getMessage()


async def test_redis_down_during_a_delayed_card_update_is_one_warning_line(
    notifier: SlackNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    """A card update that cannot read the request is dropped with a WARNING, no traceback."""
    notifier.coalescer = Coalescer(interval=0.05)
    await running(notifier, "TASK [log in]")
    await notifier.show("d-leak")  # posts the card
    await notifier.show("d-leak")  # updates it
    await notifier.show("d-leak")  # within the interval: updates it later
    notifier.store = RedisStore(connect("redis://127.0.0.1:9"))
    (record,) = await logged(caplog)
    assert (logging.WARNING, None) == (record.levelno, record.exc_info)
    assert record.getMessage().startswith("card of d-leak not updated: Redis unavailable")
