"""A request bound to a commit, over a real redis-server, a recording deployer and FakeGitLab
as the code source: each deployer is given the approved commit, and a tag that moves mid-run
stops the rollout before the next data centre, undoing what changed as any failure does."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.domain.deploys import run_request
from bot.models import Action, State
from bot.store.requests import RedisStore, connect
from integrations.gitlab_source import GitLabSource
from tests.fakes import RedisServer
from tests.fakes.gitlab_api import FakeGitLab
from tests.run_kit import LEASE_SECONDS, PROJECT, Kit, build_kit

TOKEN = "glpat-commits"
TAG = "release-v2"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def kit(redis_server: RedisServer, server: FakeGitLab, tmp_path: Path) -> AsyncIterator[Kit]:
    server.reset()
    client = connect(redis_server.url)
    await client.flushdb()
    kit = build_kit(tmp_path, RedisStore(client, lease_seconds=LEASE_SECONDS, lease_grace=0))
    kit.services = dataclasses.replace(kit.services, source=GitLabSource(server.url, TOKEN))
    yield kit
    await client.aclose()


def tagged(gitlab: FakeGitLab) -> tuple[int, str]:
    """The service's project with one commit tagged release-v2: its id and the commit."""
    pid = gitlab.add_project(PROJECT, refs=["main"])
    gitlab.commit(pid, "Add cart")
    return pid, gitlab.tag(pid, TAG)


def move_tag(gitlab: FakeGitLab, pid: int) -> str:
    gitlab.commit(pid, "Sneak in a change")
    return gitlab.tag(pid, TAG)


async def test_each_datacenter_is_given_the_approved_commit(kit: Kit, server: FakeGitLab) -> None:
    _, sha = tagged(server)
    await kit.queued("d-1", commit_sha=sha)
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    assert [sha, sha, sha] == kit.deployer.commits


async def test_a_commit_bound_as_it_starts_is_the_one_given(kit: Kit, server: FakeGitLab) -> None:
    """Its card could not show a commit: the one bound at start goes to every data centre."""
    _, sha = tagged(server)
    await kit.queued("d-1")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    assert [sha, sha, sha] == kit.deployer.commits


async def test_a_tag_moved_mid_run_stops_before_the_next_datacenter(
    kit: Kit, server: FakeGitLab
) -> None:
    """The tag moves while dc-a deploys: dc-b fails naming the move (nothing ran there), dc-c
    is skipped, and dc-a, where nothing ran before, keeps v2."""
    pid, was = tagged(server)
    moved: list[str] = []

    async def sneak() -> None:
        moved.append(move_tag(server, pid))

    kit.deployer.hooks["deploy dc-a"] = sneak
    await kit.queued("d-1", commit_sha=was)
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    ended = await kit.ended("d-1")
    assert ["deploy dc-a v2"] == kit.deployer.jobs
    assert ["succeeded", "failed", "skipped"] == [s.status.value for s in ended.steps]
    said = f"dc-b: tag {TAG} moved from {was[:8]} to {moved[0][:8]} since it was approved"
    assert said in ended.failure


async def test_what_changed_before_the_move_is_rolled_back(kit: Kit, server: FakeGitLab) -> None:
    """v1 ran on dc-a: with rollback_on_failure (the default) it is returned to v1, by a job
    that carries no commit (v1's is not known)."""
    pid, was = tagged(server)
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])

    async def sneak() -> None:
        move_tag(server, pid)

    kit.deployer.hooks["deploy dc-a"] = sneak
    await kit.queued("d-1", commit_sha=was)
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    assert ["deploy dc-a v2", "rollback dc-a v1"] == kit.deployer.jobs
    assert [was, ""] == kit.deployer.commits


async def test_gitlab_down_mid_run_stops_it_too(kit: Kit, server: FakeGitLab) -> None:
    """Fail closed: GitLab cannot confirm the tag before dc-b, so dc-b is not deployed."""
    _, was = tagged(server)

    async def outage() -> None:
        server.down = True

    kit.deployer.hooks["deploy dc-a"] = outage
    await kit.queued("d-1", commit_sha=was)
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    ended = await kit.ended("d-1")
    assert ["deploy dc-a v2"] == kit.deployer.jobs
    assert f"GitLab could not confirm that tag {TAG} still names commit {was[:8]}" in ended.failure


async def test_a_rollback_meeting_gitlab_down_mid_run_keeps_what_it_did(
    kit: Kit, server: FakeGitLab
) -> None:
    """A rollback to v2 (from v3) cannot confirm v2's tag before dc-b: it stops there, and dc-a
    stays on v2. Undoing it would put back v3, the release being rolled back."""
    _, was = tagged(server)
    await kit.running("prod", "v3", ["dc-a", "dc-b", "dc-c"])

    async def outage() -> None:
        server.down = True

    kit.deployer.hooks["rollback dc-a"] = outage
    await kit.queued(
        "d-1", action=Action.ROLLBACK, commit_sha=was, undoes="d-v3", undoes_version="v3",
        ran_before="dc-a=v3 dc-b=v3 dc-c=v3",
    )  # fmt: skip
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    assert ["rollback dc-a v2"] == kit.deployer.jobs
