"""Freezes at start and before each data centre, over a real redis-server with a recording
deployer and queue: a held request is not claimed and is tried again at the freeze's end; a
freeze that begins mid-run stops it before the next data centre and undoes nothing; an
emergency runs regardless."""

from __future__ import annotations

import time

from bot.domain.deploys import run_request
from bot.models import State
from bot.ports.freezes import ChatFreeze
from tests.run_kit import SERVICE, Kit


async def frozen(kit: Kit, minutes: float = 60, environment: str = "prod") -> ChatFreeze:
    now = time.time()
    made = ChatFreeze(SERVICE, environment, "rehearsal", "U0ALICE", now, now + minutes * 60)
    await kit.store.set_freeze(made)
    return made


async def test_a_request_held_by_a_freeze_stays_queued_and_is_tried_at_its_end(kit: Kit) -> None:
    freeze = await frozen(kit)
    request = await kit.queued("d-1")
    assert await run_request(kit.services, "d-1", "worker") is None
    held = await kit.ended("d-1")
    assert (held.state, kit.deployer.jobs) == (State.QUEUED, [])
    assert "rehearsal (frozen by <@U0ALICE>) until" in held.waiting
    assert [("d-1", freeze.until + 1)] == kit.queue.later
    assert [request.id] == await kit.store.lane_of(request)


async def test_once_the_freeze_ends_it_runs(kit: Kit) -> None:
    await frozen(kit)
    await kit.queued("d-1")
    await run_request(kit.services, "d-1", "worker")
    await kit.store.end_freeze(SERVICE, "prod")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    assert ["deploy dc-a v2", "deploy dc-b v2", "deploy dc-c v2"] == kit.deployer.jobs


async def test_a_freeze_begun_mid_run_stops_before_the_next_datacenter(kit: Kit) -> None:
    """dc-a is deployed when the freeze begins: dc-b and dc-c are skipped, dc-a keeps the new
    version (no rollback during a freeze), and the failure names the freeze."""
    kit.deployer.hooks["deploy dc-a"] = lambda: frozen(kit)
    await kit.queued("d-1")
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    ended = await kit.ended("d-1")
    assert ["deploy dc-a v2"] == kit.deployer.jobs
    assert ["succeeded", "skipped", "skipped"] == [s.status.value for s in ended.steps]
    assert "rehearsal" in ended.failure and "before dc-b" in ended.failure


async def test_an_emergency_runs_during_a_freeze_and_is_audited(kit: Kit) -> None:
    await frozen(kit)
    await kit.queued("d-1", emergency="orders failing")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    events = [e for e in await kit.store.audit_trail() if e.event == "emergency"]
    assert 1 == len(events) and "orders failing" in events[0].detail
    assert any("freeze was broken" in text for _, text in kit.notifier.posted)
