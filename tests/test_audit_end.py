"""The audit entry that ends a run names each data centre's result (deployed, skipped and
why, rolled back), after the failure sentence when it failed. Real redis-server, recording
deployer (tests/run_kit.py)."""

from __future__ import annotations

import time

from bot.domain.deploys import run_request
from bot.domain.finish import AUDIT_DETAIL_MAX, audit_detail
from bot.domain.run import succeeded
from bot.models import AuditEvent, State, Step, StepStatus
from bot.ports.locks import Hold
from tests.run_kit import SERVICE, Kit, new_request


async def ended_entry(kit: Kit, request_id: str) -> AuditEvent:
    [entry] = [
        e for e in await kit.store.audit_trail(1000)
        if e.request_id == request_id and e.event in ("succeeded", "failed")
    ]  # fmt: skip
    return entry


async def test_a_two_datacenter_success_names_both_results(kit: Kit) -> None:
    """dc-b is held: the run succeeds, and its `succeeded` entry says dc-a was deployed and
    dc-b skipped, by whom and why."""
    now = time.time()
    hold = Hold(SERVICE, "kept", "dc-b", "U0X", "rack maintenance", now, now + 3600)
    await kit.store.put_hold(hold)
    await kit.queued("d-1", environment="kept")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    detail = (await ended_entry(kit, "d-1")).detail
    assert detail.startswith("dc-a deployed; dc-b skipped (held by <@U0X>")
    assert detail.endswith("rack maintenance)")


async def test_a_failed_run_keeps_its_failure_and_adds_each_result(kit: Kit) -> None:
    """dc-b fails in prod: the `failed` entry has the failure sentence, then dc-a and dc-b
    back on v1 and dc-c skipped."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan["deploy dc-b"] = "fail"
    await kit.queued("d-1")
    assert State.FAILED == await run_request(kit.services, "d-1", "worker")
    ended = await kit.ended("d-1")
    detail = (await ended_entry(kit, "d-1")).detail
    results = "dc-a deployed, then back on v1; dc-b failed, then back on v1; dc-c skipped"
    assert f"{ended.failure} {results}" == detail


async def test_a_long_detail_is_cut_short(kit: Kit) -> None:
    """Forty data centres, each held for a long reason: the detail stops at the cap."""
    request = new_request(kit.catalog, "d-1", "v2", "prod")
    why = "held by <@U0X>: " + "a very long reason " * 5
    steps = [Step(target=f"dc-{n}", status=StepStatus.SKIPPED, failure=why) for n in range(40)]
    request = request.model_copy(update={"steps": steps})
    detail = audit_detail(request, succeeded([]))
    assert AUDIT_DETAIL_MAX == len(detail) and detail.endswith("…")
    assert detail.startswith(f"dc-0 skipped ({why})")
