"""The release note over FakeSlack's Web API and real Redis: one message in the releases
channel, posted once and then updated in place; its last update and the run's summary in its
thread; marked when a rollback undid it; scrubbed like everything sent to Slack. And how its
changes read."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog.model import load_catalog
from bot.domain.progress import StepEvent, fold_all
from bot.domain.progress import ended as target_ended
from bot.domain.run import Fate, TargetOutcome
from bot.models import Action, ChangeLine, Changelog, DeployRequest, State, Step, StepStatus
from bot.store.requests import RedisStore, connect
from handlers.coalesce import Coalescer
from handlers.notifier import SlackNotifier
from handlers.release_notes import changes_text
from tests.conftest import write_catalog
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer
from tests.stack import RELEASES

TOKEN = "glpat-Leaked0123456789abcd"
CHANGES = Changelog(
    older="v1",
    newer="v2",
    lines=[
        ChangeLine(ref="!2", title="Fix totals", url="https://git/mr/2", author="bob",
                   merge_request=True),
        ChangeLine(ref="abcd1234", title="Bump <deps>", url="https://git/c/1", author="Carol"),
    ],
    merge_requests=1,
    commits=3,
    compare_url="https://git/compare/v1...v2",
)  # fmt: skip


@pytest.fixture
async def notifier(
    redis_server: RedisServer, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[SlackNotifier]:
    fake_slack.reset()
    redis = connect(redis_server.url)
    await redis.flushdb()
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake_slack.base_url)
    found = SlackNotifier(client, RedisStore(redis), load_catalog(write_catalog(tmp_path)))
    found.coalescer = Coalescer(interval=0.0)
    yield found
    await redis.aclose()


async def running(notifier: SlackNotifier, rid: str = "d-1", **fields: object) -> DeployRequest:
    """web-h5 v2 to prod, running in dc-a (dc-b waiting), with CHANGES as its changelog."""
    request = DeployRequest(
        id=rid, service="web-h5", environment="prod", version="v2", requester="U0DEV",
        channel="C0DEPLOY", catalog_revision="abc",
        steps=[Step(target="dc-a", status=StepStatus.RUNNING, started_at=100.0),
               Step(target="dc-b")], **fields,
    )  # fmt: skip
    await notifier.store.create(request)
    await notifier.store.claim(request, "w1")
    await notifier.store.set_changelog(rid, CHANGES)
    return request


async def ended(notifier: SlackNotifier, request: DeployRequest) -> DeployRequest:
    """The request succeeded, approved by Alice and Bob: dc-a in 12s, dc-b in 30s, each
    saying what it changed."""
    request.steps = [
        Step(target="dc-a", status=StepStatus.SUCCEEDED, started_at=100.0, finished_at=112.0,
             detail="TASK [copy site] changed on localhost"),
        Step(target="dc-b", status=StepStatus.SUCCEEDED, started_at=112.0, finished_at=142.0,
             detail=f"rollout done; token {TOKEN}"),
    ]  # fmt: skip
    await notifier.store.save_steps(request)
    done = {"state": State.SUCCEEDED, "started_at": 100.0, "finished_at": 142.0}
    return request.model_copy(update={**done, "approvers": ["U0ALICE", "U0BOB"]})


async def test_the_note_is_posted_once_then_updated_in_place(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """Two calls: one message in the releases channel, one chat.update of it."""
    await running(notifier)
    await notifier.release_note("d-1")
    await notifier.release_note("d-1")
    (note,) = fake_slack.messages(RELEASES)
    assert 1 == len(fake_slack.updates_of(RELEASES, note.ts))


async def test_progress_on_the_card_updates_the_note(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """``show`` (each step of progress) updates the note too, once it is posted."""
    await running(notifier)
    await notifier.show("d-1")  # the card
    await notifier.release_note("d-1")
    await notifier.show("d-1")
    (note,) = fake_slack.messages(RELEASES)
    assert 1 == len(fake_slack.updates_of(RELEASES, note.ts))


async def test_the_note_lists_the_changes_and_the_compare(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    await running(notifier)
    await notifier.release_note("d-1")
    text = json.dumps(fake_slack.messages(RELEASES)[0].blocks, ensure_ascii=False)
    for fragment in ("<https://git/mr/2|!2 Fix totals> — @bob", "Bump &lt;deps&gt;", "Carol"):
        assert fragment in text
    assert "<https://git/compare/v1...v2|Full compare>" in text


async def test_the_end_updates_the_note_and_summarises_the_run_in_its_thread(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    """Released: the note says so, and its thread says per data centre how long and what
    changed, and who approved (scrubbed)."""
    await running(notifier)
    await notifier.release_note("d-1")
    posted = await notifier.store.get("d-1")  # with its note's channel and ts
    assert posted is not None
    await notifier.released(await ended(notifier, posted))
    note, reply = fake_slack.messages(RELEASES)
    assert (note.ts, "Released web-h5 v2 to prod") == (reply.thread_ts, note.text)
    expected = [
        "*Released web-h5 v2 to prod* in 42s; asked by <@U0DEV>, approved by <@U0ALICE>, <@U0BOB>.",
        "✅ `dc-a` succeeded in 12s — TASK [copy site] changed on localhost",
        "✅ `dc-b` succeeded in 30s — rollout done; token [redacted]",
    ]
    assert expected == (reply.text or "").splitlines()


async def test_a_rollback_marks_the_note_it_undid(
    notifier: SlackNotifier, fake_slack: FakeSlack
) -> None:
    await running(notifier)
    await notifier.release_note("d-1")
    rollback = DeployRequest(
        id="d-9", action=Action.ROLLBACK, service="web-h5", environment="prod", version="v1",
        requester="U0CAROL", channel="C0DEPLOY", catalog_revision="abc", finished_at=1800000000,
        undoes="d-1", undoes_version="v2",
    )  # fmt: skip
    await notifier.undone("d-1", rollback)
    (note,) = fake_slack.messages(RELEASES)
    text = json.dumps(note.blocks, ensure_ascii=False)
    assert "Released web-h5 v2 to prod, since rolled back" == note.text
    assert "Rolled back* at <!date^1800000000^" in text and "by <@U0CAROL>." in text


# How the changes read


def test_missing_changes_say_why() -> None:
    found = changes_text(Changelog(older="v1", newer="v2", missing="GitLab unreachable"))
    assert "*Changes since `v1`*: unknown (GitLab unreachable)." == found


def test_no_changes_say_none() -> None:
    assert "*Changes since `v2`*: none." == changes_text(Changelog(older="v2", newer="v2"))


def test_changes_beyond_the_lines_shown_are_counted() -> None:
    """1 merge request and 3 commits, 2 lines shown: 2 more."""
    lines = changes_text(CHANGES).splitlines()
    assert ["*Changes since `v1`* (1 merge request, 3 commits):", "…and 2 more."] == [
        lines[0],
        lines[-2],
    ]


def test_what_a_commit_says_can_mention_nobody() -> None:
    """An author named ``<!channel>`` and a title with ``<@U1>`` are shown, not obeyed."""
    line = ChangeLine(ref="abcd1234", title="ping <@U1>", url="", author="<!channel>")
    shown = changes_text(Changelog(older="v1", newer="v2", lines=[line], commits=1))
    assert "• abcd1234 ping &lt;@U1&gt; — &lt;!channel&gt;" == shown.splitlines()[1]


def test_a_rollback_lists_what_it_takes_out() -> None:
    taken = CHANGES.model_copy(update={"older": "v1", "newer": "v2", "taken_out": True})
    assert changes_text(taken).startswith("*Changes taken out* (`v2` → `v1`)")


# What the summary reads from the steps


def test_a_step_keeps_when_it_started_and_ended_and_what_its_tool_said_last() -> None:
    """Running at 10, a tool line at 11, deployed at 25 (told again at 30, as settling does):
    it took 15 s and still says the tool's last line."""
    events = [
        StepEvent("dc-a", StepStatus.RUNNING, at=10.0),
        StepEvent("dc-a", detail="TASK [copy site] changed on localhost", at=11.0),
        dataclasses.replace(target_ended(TargetOutcome("dc-a", Fate.DEPLOYED)), at=25.0),
        dataclasses.replace(target_ended(TargetOutcome("dc-a", Fate.DEPLOYED)), at=30.0),
    ]
    (step,) = fold_all([Step(target="dc-a")], events)
    assert (10.0, 25.0, 15.0, "TASK [copy site] changed on localhost") == (
        step.started_at,
        step.finished_at,
        step.duration,
        step.detail,
    )


def test_a_rolled_back_step_ends_when_its_rollback_ends() -> None:
    events = [
        StepEvent("dc-a", StepStatus.RUNNING, at=10.0),
        StepEvent("dc-a", StepStatus.FAILED, at=20.0),
        StepEvent("dc-a", StepStatus.ROLLING_BACK, at=21.0),
        StepEvent("dc-a", StepStatus.ROLLED_BACK, at=40.0),
    ]
    (step,) = fold_all([Step(target="dc-a")], events)
    assert (10.0, 40.0) == (step.started_at, step.finished_at)
