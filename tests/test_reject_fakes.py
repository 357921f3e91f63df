"""The fakes' new answers: FakeSlack's views.open as Slack documents it, FakeGitLab's single
tag (and GitLabSource.commit_of over it), and the Slack gate admitting a view_submission."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.slack_gate import Admitted, admit
from bot.ports.source import SourceUnavailable
from handlers.reject import modal
from integrations.gitlab_source import GitLabSource
from tests.fakes import DEFAULT_BOT_TOKEN, DEFAULT_SIGNING_SECRET, FakeSlack, view_submission
from tests.fakes.gitlab_api import FakeGitLab

TOKEN = "glpat-tags"


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    slack.reset()
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url)


async def test_views_open_answers_the_view_and_records_it(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    view = modal("d-1", "C0DEPLOY", "Reject deploy web-h5 v1 to prod?")
    answer = await client.views_open(trigger_id="1.2.abc", view=view)
    opened = answer["view"]
    assert (view["callback_id"], view["private_metadata"]) == (
        opened["callback_id"],
        opened["private_metadata"],
    )
    assert {"values": {}} == opened["state"] and opened["id"].startswith("V")
    assert [opened] == slack.views()


async def test_a_trigger_opens_one_view(client: AsyncWebClient) -> None:
    view = modal("d-1", "C0DEPLOY", "Reject?")
    await client.views_open(trigger_id="1.2.abc", view=view)
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id="1.2.abc", view=view)
    assert "exchanged_trigger_id" == refused.value.response["error"]


async def test_a_view_without_a_trigger_is_refused(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.api_call("views.open", json={"view": modal("d-1", "C0", "Reject?")})
    assert "invalid_arguments" == refused.value.response["error"]


def test_the_gate_admits_a_signed_view_submission() -> None:
    view = {**modal("d-1", "C0DEPLOY", "Reject?"), "id": "V0001"}
    signed = view_submission("U0BOB", view, {"reject_reason": {"reason": "no"}})
    headers = {k.lower(): v for k, v in signed.headers.items()}
    verdict = admit(signed.body, headers, DEFAULT_SIGNING_SECRET.encode(), time.time())
    assert isinstance(verdict, Admitted)
    state = verdict.body["view"]["state"]["values"]["reject_reason"]["reason"]
    assert ("view_submission", "no") == (verdict.body["type"], state["value"])
    assert "d-1" == json.loads(verdict.body["view"]["private_metadata"])["request"]


@pytest.fixture(scope="module")
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=TOKEN) as fake:
        yield fake


async def test_commit_of_names_the_tags_commit_and_follows_it_when_moved(
    gitlab: FakeGitLab,
) -> None:
    gitlab.reset()
    pid = gitlab.add_project("shop/web", refs=["main"])
    gitlab.commit(pid, "Add cart")
    first = gitlab.tag(pid, "release-v1")
    source = GitLabSource(gitlab.url, TOKEN)
    try:
        found = await source.commit_of("shop/web", "release-v1")
        assert (first, f"{gitlab.url}/shop/web/-/commit/{first}") == (found.sha, found.url)
        gitlab.commit(pid, "Sneak in a change")
        moved = gitlab.tag(pid, "release-v1")
        assert moved == (await source.commit_of("shop/web", "release-v1")).sha
        with pytest.raises(SourceUnavailable, match="tag release-v9 not found"):
            await source.commit_of("shop/web", "release-v9")
    finally:
        source.close()
