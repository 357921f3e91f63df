"""End to end: POST /gitlab/webhook on the running bot, with payloads shaped like GitLab's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import redis

from bot.ports.deployer import pipeline_topic
from bot.store.keys import Keys
from bot.store.requests import RedisStore, connect
from tests.stack import GITLAB_HOOK_SECRET, Stack

PIPELINE_HOOK = {
    "object_kind": "pipeline",
    "object_attributes": {
        "id": 31,
        "iid": 3,
        "ref": "v2.3.1",
        "tag": True,
        "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
        "status": "running",
        "detailed_status": "running",
        "stages": ["build", "deploy"],
        "created_at": "2026-11-24 10:00:00 UTC",
        "finished_at": None,
        "duration": None,
        "variables": [{"key": "SHIPBOT_REQUEST_ID", "value": "d-abc"}],
    },
    "user": {"id": 1, "name": "Administrator", "username": "root"},
    "project": {"id": 77, "name": "web-h5", "path_with_namespace": "front/web-h5"},
    "builds": [],
}
JOB_HOOK = {
    "object_kind": "build",
    "ref": "v2.3.1",
    "tag": True,
    "build_id": 1977,
    "build_name": "deploy-prod",
    "build_stage": "deploy",
    "build_status": "running",
    "pipeline_id": 32,
    "project_id": 77,
    "project_name": "front / web-h5",
}


async def listened(stack: Stack, topic: str) -> bool:
    """True when news on ``topic`` is waiting for the worker that follows it."""
    store = RedisStore(connect(stack.redis.url))
    try:
        return await store.listen(topic, 1)
    finally:
        await store.redis.aclose()


@pytest.mark.parametrize("token", ["", "wrong-secret"])
def test_wrong_or_missing_token_is_refused(bot: Stack, token: str) -> None:
    """Without the shared secret the hook gets 401 and wakes nobody."""
    response = bot.gitlab_hook(PIPELINE_HOOK, "Pipeline Hook", token=token)
    assert 401 == response.status_code
    assert not asyncio.run(listened(bot, pipeline_topic(77, 31)))


def test_pipeline_hook_wakes_the_follower_of_that_pipeline(bot: Stack) -> None:
    """A Pipeline Hook leaves news for whoever follows pipeline 31 of project 77."""
    assert 200 == bot.gitlab_hook(PIPELINE_HOOK, "Pipeline Hook").status_code
    assert asyncio.run(listened(bot, pipeline_topic(77, 31)))


def test_job_hook_wakes_the_follower_of_its_pipeline(bot: Stack) -> None:
    """A Job Hook is news about the pipeline the job belongs to."""
    assert 200 == bot.gitlab_hook(JOB_HOOK, "Job Hook").status_code
    assert asyncio.run(listened(bot, pipeline_topic(77, 32)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "malformed payload: body: Invalid JSON"),
        (b"[]", "malformed payload: body: Input should be an object"),
        (b'{"object_kind": "push"}', "unsupported event: only Pipeline, Job and Deployment"),
        (b'{"ref": "main"}', "not a GitLab webhook payload: object_kind is missing"),
        (
            b'{"object_kind": "pipeline", "project": {"id": 1}, "object_attributes": {}}',
            "malformed payload: object_attributes.id: Field required",
        ),
    ],
)
def test_malformed_or_unknown_payload_gets_400(bot: Stack, body: bytes, message: str) -> None:
    """Payloads shipbot cannot use get 400 with a reason, and change nothing."""
    response = bot.gitlab_hook(body, "Pipeline Hook")
    assert 400 == response.status_code
    assert response.json()["message"].startswith(message)
    assert [] == redis.Redis.from_url(bot.redis.url).keys(Keys().news("*"))  # no news at all


def test_oversized_payload_is_refused_unread(bot: Stack) -> None:
    """A body over 1 MB gets 413 and changes nothing."""
    body = b'{"object_kind": "pipeline", "padding": "' + b"x" * 1_000_001 + b'"}'
    assert 413 == bot.gitlab_hook(body, "Pipeline Hook").status_code


def test_payload_without_content_length_is_refused(bot: Stack) -> None:
    """A chunked body (no Content-Length) gets 411 before it is read."""

    def chunks() -> Iterator[bytes]:
        yield json.dumps(PIPELINE_HOOK).encode()

    headers = {"X-Gitlab-Event": "Pipeline Hook", "X-Gitlab-Token": GITLAB_HOOK_SECRET}
    answer = httpx.post(f"{bot.url}/gitlab/webhook", content=chunks(), headers=headers)
    assert 411 == answer.status_code
    assert not asyncio.run(listened(bot, pipeline_topic(77, 31)))
