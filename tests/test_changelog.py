"""The changelog of a run and the lead times of a production deploy, against FakeGitLab over
real HTTP (through GitLabSource) and a real redis-server: a run of a service with ``source``
keeps the changes between the version before and its own on the request, has its note posted,
and, when it is a successful production deploy, records its commits' lead times. GitLab
unreachable, a tag it does not know or no source say so and never fail the deploy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.catalog.model import load_catalog
from bot.domain.changelog import MAX_LINES, summarised
from bot.domain.deploys import run_request
from bot.domain.metrics.days import day_of
from bot.domain.requests import entry_revision
from bot.domain.services import Services
from bot.models import Action, Changelog, DeployRequest, State, Step
from bot.ports.source import Changes, Commit
from bot.store.requests import RedisStore, connect
from integrations.gitlab_source import GitLabSource
from tests.fakes import FakeGitLab, RedisServer
from tests.fakes.deployers import RecordingDeployer, ScriptedHealth
from tests.fakes.recorders import FixedDirectory, FixedSource, RecordingNotifier, RecordingQueue
from tests.stack import PLAYBOOKS
from tests.waiting import until

TOKEN = "glpat-changelog"
HOUR = 3600.0
CATALOG = f"""
notify: {{releases_channel: C0RELEASES}}
services:
  shop:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    source: {{gitlab_project: shop/web, tag_format: "release-{{version}}"}}
    environments:
      prod: {{datacenters: [dc-a, dc-b]}}
      staging: {{}}
  plain:
    deployer: ansible
    playbook: {PLAYBOOKS / "ok.yml"}
    environments:
      prod: {{}}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def gl(server: FakeGitLab) -> FakeGitLab:
    """shop/web: release-v1 (Add cart, by alice, 3 hours ago), then release-v2 (Fix totals by
    bob, 2 hours ago, and a commit of carol's an hour ago)."""
    server.reset()
    pid = server.add_project("shop/web", refs=["main"])
    server.merge(pid, "Add cart", "alice", at=time.time() - 3 * HOUR)
    server.tag(pid, "release-v1")
    server.merge(pid, "Fix totals", "bob", at=time.time() - 2 * HOUR)
    server.commit(pid, "Bump deps", "carol", at=time.time() - HOUR)
    server.tag(pid, "release-v2")
    return server


@pytest.fixture
async def kit(
    redis_server: RedisServer, gl: FakeGitLab, tmp_path: Path
) -> AsyncIterator[tuple[Services, RedisStore, RecordingNotifier]]:
    client = connect(redis_server.url)
    await client.flushdb()
    store = RedisStore(client)
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    notifier = RecordingNotifier()
    services = Services(
        catalog=load_catalog(path),
        store=store,
        notifier=notifier,
        directory=FixedDirectory(),
        queue=RecordingQueue(),
        deployer_for=RecordingDeployer(),
        health=ScriptedHealth(),
        source=GitLabSource(gl.url, TOKEN),
    )
    yield services, store, notifier
    await client.aclose()


async def run(
    services: Services, rid: str, version: str, env: str = "prod", **fields: Any
) -> DeployRequest:
    """Queue and run a request of ``shop`` (or ``fields["service"]``); the ended request."""
    service = fields.pop("service", "shop")
    targets = services.catalog.services[service].environments[env].targets()
    request = DeployRequest(
        id=rid, service=service, environment=env, version=version, requester="U0DEV",
        channel="C0DEPLOY", catalog_revision=entry_revision(services.catalog, service),
        expires_at=time.time() + 3600, steps=[Step(target=t) for t in targets], **fields,
    )  # fmt: skip
    await services.store.create(request)
    await run_request(services, rid, "worker")
    ended = await services.store.get(rid)
    assert ended is not None
    return ended


def changelog(request: DeployRequest) -> Changelog:
    assert request.changelog is not None
    return request.changelog


# What the note lists


async def test_a_release_lists_the_changes_since_the_version_before(kit: Any) -> None:
    """v1 then v2: v2's changelog has Fix totals (bob) and carol's commit, newest first,
    merge requests before commits, between v1 and v2."""
    services, _, _ = kit
    await run(services, "d-1", "v1")
    found = changelog(await run(services, "d-2", "v2"))
    assert ("v1", "v2", 1, 2) == (found.older, found.newer, found.merge_requests, found.commits)
    expected = [
        ("!2", "Fix totals", "bob"),
        ("Bump deps", "Carol Danvers"),
        ("Fix totals (1)", "Bob Marley"),
    ]
    shown = [(found.lines[0].ref, found.lines[0].title, found.lines[0].author)]
    shown += [(line.title, line.author) for line in found.lines[1:]]
    assert expected == shown


async def test_the_changes_link_the_full_compare_of_the_tags(kit: Any, gl: FakeGitLab) -> None:
    services, _, _ = kit
    await run(services, "d-1", "v1")
    found = changelog(await run(services, "d-2", "v2"))
    tags = next(iter(gl.repositories.values())).tags
    assert found.compare_url.endswith(f"/-/compare/{tags['release-v1']}...{tags['release-v2']}")


async def test_a_first_release_lists_its_newest_commits(kit: Any) -> None:
    services, _, _ = kit
    found = changelog(await run(services, "d-1", "v2"))
    assert ("", 2, 3) == (found.older, found.merge_requests, found.commits)


async def test_a_rollback_lists_the_changes_it_takes_out(kit: Any) -> None:
    """v1, v2, then a rollback to v1: its note lists v2's changes as taken out."""
    services, _, _ = kit
    await run(services, "d-1", "v1")
    await run(services, "d-2", "v2")
    undo = {"undoes": "d-2", "undoes_version": "v2", "ran_before": "dc-a=v2 dc-b=v2"}
    found = changelog(await run(services, "d-3", "v1", action=Action.ROLLBACK, **undo))
    assert (True, "v1", "v2", 3) == (found.taken_out, found.older, found.newer, len(found.lines))


async def test_the_note_is_posted_and_the_rollback_marks_the_undone_one(kit: Any) -> None:
    services, _, notifier = kit
    await run(services, "d-1", "v1")
    await run(services, "d-2", "v2")
    undo = {"undoes": "d-2", "undoes_version": "v2", "ran_before": "dc-a=v2 dc-b=v2"}
    await run(services, "d-3", "v1", action=Action.ROLLBACK, **undo)
    assert (["d-1", "d-2", "d-3"], [("d-2", "d-3")]) == (
        sorted(set(notifier.notes)),
        notifier.undid,
    )
    assert ["d-1", "d-2", "d-3"] == notifier.releases


# What is missing, in a few words, and the deploy goes on


async def test_a_slow_gitlab_never_holds_up_the_end_of_a_run(kit: Any) -> None:
    """GitLab answers only after the run: its end is recorded (and its note posted by the end)
    without waiting; once GitLab answers, the changes land on the request and the note is
    updated in place."""
    services, store, notifier = kit
    gate = asyncio.Event()
    shipped = Changes((Commit("a" * 40, "Fix totals", "bob", time.time() - HOUR),), (), "u")
    services.source = FixedSource(changes_given=shipped, gate=gate)
    running = asyncio.create_task(run(services, "d-1", "v2"))
    ended = await until(lambda: _state(store, "d-1"), "the run's end recorded, GitLab silent")
    await until(lambda: notifier.releases, "the note posted by the run's end")
    waiting = changelog(await _get(store, "d-1")).missing
    assert (State.SUCCEEDED, ["d-1"], [], "GitLab has not answered yet") == (
        ended,
        notifier.releases,
        notifier.notes,
        waiting,
    )
    gate.set()
    await running
    request = await _get(store, "d-1")
    assert (1, "", ["d-1"]) == (
        changelog(request).commits,
        changelog(request).missing,
        notifier.notes,
    )


async def _get(store: RedisStore, rid: str) -> DeployRequest:
    found = await store.get(rid)
    assert found is not None
    return found


async def _state(store: RedisStore, rid: str) -> State | None:
    found = await store.get(rid)
    return found.state if found is not None and found.state is not State.RUNNING else None


async def test_gitlab_down_says_so_and_the_deploy_succeeds(kit: Any, gl: FakeGitLab) -> None:
    services, _, _ = kit
    gl.down = True
    ended = await run(services, "d-1", "v2")
    assert (State.SUCCEEDED, "GitLab unreachable") == (ended.state, changelog(ended).missing)


async def test_an_unknown_version_names_its_tag(kit: Any) -> None:
    services, _, _ = kit
    ended = await run(services, "d-1", "v9")
    assert (State.SUCCEEDED, "tag release-v9 not found") == (ended.state, changelog(ended).missing)


async def test_a_service_without_source_says_so(kit: Any) -> None:
    services, _, _ = kit
    ended = await run(services, "d-1", "v1", service="plain")
    assert "no source in the catalog" == changelog(ended).missing


async def test_without_gitlab_settings_the_note_says_so(kit: Any) -> None:
    services, _, _ = kit
    services.source = None
    assert "GitLab not configured" == changelog(await run(services, "d-1", "v1")).missing


# Lead times


async def test_a_production_deploy_records_its_commits_lead_times(kit: Any) -> None:
    """v1 (a first release: its commit, 3 hours old), then v2 (two commits, committed about 2
    and 1 hours before it ended): two deploys, three lead times, six hours in all."""
    services, store, _ = kit
    await run(services, "d-1", "v1")
    ended = await run(services, "d-2", "v2")
    (day,) = await store.metric_days("shop", "prod", [day_of(ended.finished_at, "UTC")])
    assert (2, 3) == (day.lead_deploys, sum(day.lead.values()))
    assert pytest.approx(6 * HOUR, rel=0.01) == day.lead_sum


async def test_unknown_changes_count_as_an_unknown_lead(kit: Any, gl: FakeGitLab) -> None:
    services, store, _ = kit
    gl.down = True
    ended = await run(services, "d-1", "v2")
    (day,) = await store.metric_days("shop", "prod", [day_of(ended.finished_at, "UTC")])
    assert (0, 1) == (day.lead_deploys, day.lead_unknown)


async def test_staging_records_no_lead_times(kit: Any) -> None:
    services, store, _ = kit
    ended = await run(services, "d-1", "v2", env="staging")
    (day,) = await store.metric_days("shop", "staging", [day_of(ended.finished_at, "UTC")])
    assert (0, 0) == (day.lead_deploys, day.lead_unknown)


async def test_a_failed_deploy_records_no_lead_times(kit: Any) -> None:
    services, store, _ = kit
    services.deployer_for.plan["deploy dc-b"] = "fail"
    ended = await run(services, "d-1", "v2")
    (day,) = await store.metric_days("shop", "prod", [day_of(ended.finished_at, "UTC")])
    assert (State.FAILED, 0, 0) == (ended.state, day.lead_deploys, day.lead_unknown)


# Summarised


def test_at_most_twenty_lines_are_shown_and_the_rest_counted() -> None:
    commits = tuple(Commit(f"{n:040x}", f"change {n}", "Alice", 0.0) for n in range(30))
    found = summarised(Changelog(older="v1", newer="v2"), Changes(commits, (), "http://x"))
    assert (MAX_LINES, 10, "change 29") == (len(found.lines), found.more, found.lines[0].title)
