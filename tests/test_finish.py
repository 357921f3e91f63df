"""Ending a run survives Redis blips: whichever step of `finish` Redis fails (the final write,
before it or with its answer lost; starting the next request; telling people), once Redis is
back the request is recorded exactly once (state, history entry, audit), the lane's next
request is started, and people are told once. Real redis-server, blips on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.domain.deploys import run_request
from bot.domain.finish import finish_orphan
from bot.domain.progress import settled
from bot.domain.run import RunOutcome, cut_off
from bot.domain.sweep import LOST
from bot.models import Action, State
from bot.store.requests import RedisStore, connect
from tests.fakes import RedisServer
from tests.fakes.blips import Blip, Blips
from tests.run_kit import LEASE_SECONDS, Kit, build_kit
from tests.waiting import until

Build = Callable[..., tuple[Kit, Blips]]
STEPS = {
    "the final write fails": Blip("finish"),
    "the final write's answer is lost": Blip("finish", lost_answer=True),
    "starting the next request fails": Blip("start"),
    "showing the final card fails": Blip("show", arg="d-1", after="finish"),
    "reading the ended request fails": Blip("get", after="finish"),
    "posting the release note fails": Blip("released"),
}


@pytest.fixture
async def build(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Build]:
    """``build(*blips)``: a kit whose store, queue and notifier blip as planned."""
    client = connect(redis_server.url)
    await client.flushdb()
    store = RedisStore(client, lease_seconds=LEASE_SECONDS, lease_grace=0)

    def kit_with(*planned: Blip) -> tuple[Kit, Blips]:
        blips = Blips(*planned)
        return build_kit(tmp_path, store, blips.around), blips

    yield kit_with
    await client.aclose()


async def audited(kit: Kit, request_id: str, event: str) -> int:
    trail = await kit.store.audit_trail(1000)
    return sum(1 for e in trail if (e.request_id, e.event) == (request_id, event))


@pytest.mark.parametrize("blip", STEPS.values(), ids=STEPS.keys())
async def test_a_blip_in_finish_leaves_the_run_recorded_once(build: Build, blip: Blip) -> None:
    """d-1 succeeds with d-2 queued behind it; Redis blips at one step of finishing d-1."""
    kit, blips = build(blip)
    await kit.queued("d-1")
    await kit.queued("d-2", version="v3")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    assert 1 == blips.failed[blip.method]
    ended = await kit.ended("d-1")
    assert (State.SUCCEEDED, "") == (ended.state, ended.failure)
    assert ["d-1"] == [entry.request_id for entry in await kit.history()]
    assert 1 == await audited(kit, "d-1", "succeeded")
    assert (["d-2"], ["d-1"], []) == (
        kit.queue.started,
        kit.notifier.releases,
        kit.notifier.threads,
    )


@pytest.mark.parametrize("blip", [Blip("finish", lost_answer=True), Blip("thread")])
async def test_a_blip_in_finishing_a_failed_run_tells_the_requester_once(
    build: Build, blip: Blip
) -> None:
    """A failed run whose final write's answer is lost, or whose thread message blips: one
    history entry, one message in the card's thread."""
    kit, blips = build(blip)
    kit.deployer.plan["deploy dc-a"] = "refuse"
    await kit.queued("d-1")
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    assert 1 == blips.failed[blip.method]
    assert [State.FAILED] == [entry.state for entry in await kit.history()]
    assert ["d-1"] == [request_id for request_id, _ in kit.notifier.threads]


async def test_a_rollback_whose_answer_is_lost_marks_the_undone_release_once(
    build: Build,
) -> None:
    """v1, v2, then a rollback to v1 whose final write's answer is lost: v2's request is
    rolled back (audited once), the rollback is in history once."""
    kit, blips = build()
    for rid, version in (("d-1", "v1"), ("d-2", "v2")):
        await kit.queued(rid, version, "single")
        assert State.SUCCEEDED == await run_request(kit.services, rid, "worker")
    blips.add(Blip("finish", lost_answer=True))
    undo = {"undoes": "d-2", "undoes_version": "v2", "ran_before": "single=v2"}
    await kit.queued("d-3", "v1", "single", action=Action.ROLLBACK, **undo)
    assert State.SUCCEEDED == await run_request(kit.services, "d-3", "worker")
    assert 1 == blips.failed["finish"]
    assert State.ROLLED_BACK == (await kit.ended("d-2")).state
    assert 1 == await audited(kit, "d-2", "rolled_back")
    assert ["d-3", "d-2", "d-1"] == [e.request_id for e in await kit.history("single")]
    assert {"d-2"} == await kit.store.rolled_back("multi", "single")


async def test_while_the_final_write_fails_the_lease_is_kept(build: Build) -> None:
    """Redis refuses the final write for longer than a lease lasts: the worker keeps renewing
    its lease, so the sweep finds no orphan; once Redis is back the run is recorded as it
    ended, never as lost."""
    kit, blips = build()
    blips.down.add("finish")
    await kit.queued("d-1")
    run = asyncio.create_task(run_request(kit.services, "d-1", "worker"))
    await until(lambda: blips.failed["finish"], "the final write failed")
    renewed = blips.calls["renew_lease"]
    await until(lambda: blips.calls["renew_lease"] >= renewed + 6, "three seconds of renewals")
    assert ([], []) == (await kit.store.orphans(), await kit.store.orphans())
    blips.down.clear()
    assert State.SUCCEEDED == await run
    ended = await kit.ended("d-1")
    assert (State.SUCCEEDED, "") == (ended.state, ended.failure)
    assert ["d-1"] == kit.notifier.releases


async def test_a_run_the_sweep_ended_first_is_not_recorded_again(build: Build) -> None:
    """The sweep ends a run as lost while its worker, cut off from Redis until its lease
    lapsed, is still deploying: the worker's lease is lost, its deploy cancelled, and its own
    end records nothing (one history entry, one word to the requester, from the sweep)."""
    kit, _ = build()
    kit.deployer.plan["deploy dc-a"] = "hang"
    request = await kit.queued("d-1")
    run = asyncio.create_task(run_request(kit.services, "d-1", "worker"))
    await kit.deployer.started("deploy dc-a")
    lost = cut_off((await kit.ended("d-1")).steps, {}, LOST, RunOutcome.FAILED)
    await kit.store.redis.delete(kit.store.key.lease("d-1"))  # it lapsed
    await finish_orphan(kit.services, settled(request, lost), "sweeper", lost)
    with pytest.raises(asyncio.CancelledError):
        await run
    assert ["deploy dc-a"] == kit.deployer.cancelled
    assert [LOST] == [entry.failure for entry in await kit.history()]
    assert 1 == len(kit.notifier.threads)
    assert LOST == (await kit.ended("d-1")).failure


@pytest.mark.parametrize("blip", [Blip("claim"), Blip("claim", lost_answer=True)])
async def test_a_blip_while_claiming_runs_the_request_once(build: Build, blip: Blip) -> None:
    """The claim fails, or takes but its answer is lost: the worker claims again as the same
    attempt and runs the request once, rather than leaving it to the sweep as lost."""
    kit, blips = build(blip)
    await kit.queued("d-1")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    assert 1 == blips.failed["claim"]
    assert (["d-1"], 1) == (
        [entry.request_id for entry in await kit.history()],
        await audited(kit, "d-1", "running"),
    )
    assert ["d-1"] == kit.notifier.releases


BEFORE_THE_CLAIM = {
    "reading the request fails": Blip("get"),
    "reading the freezes fails": Blip("chat_freezes"),
}


@pytest.mark.parametrize("blip", BEFORE_THE_CLAIM.values(), ids=BEFORE_THE_CLAIM.keys())
async def test_a_blip_before_the_claim_is_waited_out(build: Build, blip: Blip) -> None:
    """Redis fails the run job's first read (the request, or the freezes in force) once: the
    worker reads again and runs the request, once, rather than failing its job and leaving the
    request queued until the sweep enqueues it again."""
    kit, blips = build(blip)
    await kit.queued("d-1")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    assert 1 == blips.failed[blip.method]
    assert (["deploy dc-a v2", "deploy dc-b v2", "deploy dc-c v2"], ["d-1"]) == (
        kit.deployer.jobs,
        [entry.request_id for entry in await kit.history()],
    )
