"""A deploy run, orchestrated: data centre by data centre, stopping at the first failure,
returning what changed newest first, whatever breaks; Stop; the health check. A recording
deployer and health check, a real redis-server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.domain.context import Run
from bot.domain.deploys import STOPPED, run_request
from bot.domain.progress import Board
from bot.domain.rollout import roll_out
from bot.domain.run import Fate, RunOutcome, RunResult, TargetOutcome
from bot.domain.stop import StopWatch
from bot.models import DeployRequest, State
from tests.run_kit import SERVICE, Kit

FAILED_IN = "task 'check capacity' failed in"


async def rolled_out(kit: Kit, request: DeployRequest) -> RunResult:
    """The run's result, straight from the orchestration (claimed, never recorded as ended)."""
    await kit.store.claim(request, "worker")
    stop = StopWatch(kit.store, request.id)
    env = kit.catalog.services[SERVICE].environments[request.environment]
    try:
        return await roll_out(Run(kit.services, request, env, Board(kit.services, request), stop))
    finally:
        stop.close()


def statuses(request: DeployRequest) -> list[str]:
    return [f"{step.target} {step.status.value}" for step in request.steps]


async def test_each_datacenter_is_deployed_in_order(kit: Kit) -> None:
    """All goes well: dc-a, dc-b, dc-c in catalog order, each deployed; the run succeeded."""
    result = await rolled_out(kit, await kit.queued("d-1"))
    assert ["deploy dc-a v2", "deploy dc-b v2", "deploy dc-c v2"] == kit.deployer.jobs
    expected = [TargetOutcome(t, Fate.DEPLOYED) for t in ("dc-a", "dc-b", "dc-c")]
    assert RunResult(RunOutcome.SUCCEEDED, tuple(expected)) == result


async def test_a_succeeded_run_is_recorded_and_announced(kit: Kit) -> None:
    """The request ends succeeded, its steps and history say so, the release note is posted."""
    await kit.queued("d-1")
    assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    ended = await kit.ended("d-1")
    assert ["dc-a succeeded", "dc-b succeeded", "dc-c succeeded"] == statuses(ended)
    entry = (await kit.history())[0]
    assert ("d-1", State.SUCCEEDED, "") == (entry.request_id, entry.state, entry.failure)
    assert {"dc-a": "succeeded", "dc-b": "succeeded", "dc-c": "succeeded"} == entry.targets
    assert (["d-1"], []) == (kit.notifier.releases, kit.notifier.threads)


async def test_the_first_failure_stops_the_rollout_and_rolls_back_newest_first(kit: Kit) -> None:
    """dc-b fails: dc-c never starts; dc-b, then dc-a, return to v1."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan["deploy dc-b"] = "fail"
    result = await rolled_out(kit, await kit.queued("d-1"))
    expected_jobs = ["deploy dc-a v2", "deploy dc-b v2", "rollback dc-b v1", "rollback dc-a v1"]
    assert expected_jobs == kit.deployer.jobs
    expected = (
        TargetOutcome("dc-a", Fate.ROLLED_BACK, version="v1"),
        TargetOutcome("dc-b", Fate.ROLLED_BACK, why=f"{FAILED_IN} dc-b", version="v1"),
        TargetOutcome("dc-c", Fate.SKIPPED),
    )
    failure = f"dc-b: {FAILED_IN} dc-b. dc-b rolled back to v1; dc-a rolled back to v1."
    assert RunResult(RunOutcome.FAILED, expected, failure) == result


async def test_a_failed_run_is_recorded_as_its_card_and_history_show_it(kit: Kit) -> None:
    """The failed target keeps its own failure beside its rollback; the requester is told."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan["deploy dc-c"] = "fail"
    assert State.FAILED == await run_request(kit.services, (await kit.queued("d-1")).id, "w")
    ended = await kit.ended("d-1")
    assert ["dc-a rolled_back", "dc-b rolled_back", "dc-c rolled_back"] == statuses(ended)
    assert (f"{FAILED_IN} dc-c", "back on v1") == (ended.steps[2].failure, ended.steps[2].undo)
    failure = (
        f"dc-c: {FAILED_IN} dc-c. "
        "dc-c rolled back to v1; dc-b rolled back to v1; dc-a rolled back to v1."
    )
    assert failure == ended.failure == (await kit.history())[0].failure
    assert [("d-1", f"<@U0DEV> the deploy {SERVICE} v2 to prod failed. {failure}")] == (
        kit.notifier.threads
    )


async def test_a_crashing_rollback_does_not_stop_the_others(
    kit: Kit, caplog: pytest.LogCaptureFixture
) -> None:
    """dc-c fails; dc-b's rollback raises RuntimeError: it is logged with its traceback, dc-a
    is still returned to v1, and the result says which rollback failed."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan.update({"deploy dc-c": "fail", "rollback dc-b": "crash"})
    result = await rolled_out(kit, await kit.queued("d-1"))
    assert ["rollback dc-c v1", "rollback dc-b v1", "rollback dc-a v1"] == kit.deployer.jobs[3:]
    expected = {
        "dc-a": Fate.ROLLED_BACK,
        "dc-b": Fate.ROLLBACK_FAILED,
        "dc-c": Fate.ROLLED_BACK,
    }
    assert expected == {t.target: t.fate for t in result.targets}
    assert "internal error" == result.targets[1].undo_why
    assert result.failure.endswith(
        "dc-c rolled back to v1; dc-b: rollback to v1 failed; dc-a rolled back to v1."
    )
    crashes = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert [RuntimeError] == [r.exc_info[0] for r in crashes if r.exc_info]


async def test_a_crashed_rollback_is_shown_on_its_step(kit: Kit) -> None:
    """The step whose rollback broke reads failed, and says its rollback failed and why."""
    await kit.running("prod", "v1", ["dc-a", "dc-b"])
    kit.deployer.plan.update({"deploy dc-b": "fail", "rollback dc-a": "crash"})
    await run_request(kit.services, (await kit.queued("d-1")).id, "w")
    ended = await kit.ended("d-1")
    assert ["dc-a failed", "dc-b rolled_back", "dc-c skipped"] == statuses(ended)
    assert "rollback to v1 failed: internal error" == ended.steps[0].undo


async def test_a_target_the_tool_never_started_is_not_rolled_back(kit: Kit) -> None:
    """dc-b's tool can't be reached (nothing changed there): only dc-a is returned."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan["deploy dc-b"] = "refuse"
    result = await rolled_out(kit, await kit.queued("d-1"))
    assert ["rollback dc-a v1"] == kit.deployer.jobs[2:]
    assert [Fate.ROLLED_BACK, Fate.REFUSED, Fate.SKIPPED] == [t.fate for t in result.targets]


async def test_a_crashing_deployer_ends_its_target_and_the_run(kit: Kit) -> None:
    """A bug in the deployer on dc-b: dc-b failed with an internal error, dc-a is returned."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan["deploy dc-b"] = "crash"
    result = await rolled_out(kit, await kit.queued("d-1"))
    assert "dc-b: internal error in the deployer. dc-a rolled back to v1." == result.failure


async def test_a_target_with_nothing_earlier_stays_as_it_is(kit: Kit) -> None:
    """The first deploy ever fails in dc-b: nothing ran before, so nothing is rolled back."""
    kit.deployer.plan["deploy dc-b"] = "fail"
    result = await rolled_out(kit, await kit.queued("d-1"))
    assert ["deploy dc-a v2", "deploy dc-b v2"] == kit.deployer.jobs
    failure = (
        f"dc-b: {FAILED_IN} dc-b. "
        "dc-b: nothing earlier to return to; dc-a: nothing earlier to return to."
    )
    assert failure == result.failure
    assert [Fate.KEPT, Fate.KEPT, Fate.SKIPPED] == [t.fate for t in result.targets]


async def test_a_failed_health_check_ends_the_rollout(kit: Kit) -> None:
    """dc-b deploys but fails its health check: both are returned to v1."""
    await kit.running("checked", "v1", ["dc-a", "dc-b"])
    kit.health.sick["dc-b"] = "dc-b answered HTTP 503"
    result = await rolled_out(kit, await kit.queued("d-1", environment="checked"))
    assert ["dc-a", "dc-b"] == kit.health.checked
    assert ["rollback dc-b v1", "rollback dc-a v1"] == kit.deployer.jobs[2:]
    expected = "dc-b: dc-b answered HTTP 503. dc-b rolled back to v1; dc-a rolled back to v1."
    assert expected == result.failure


async def test_the_catalog_can_turn_rollback_off(kit: Kit) -> None:
    """rollback_on_failure: false: dc-a keeps the new version, and the failure says only why."""
    await kit.running("kept", "v1", ["dc-a", "dc-b"])
    kit.deployer.plan["deploy dc-b"] = "fail"
    result = await rolled_out(kit, await kit.queued("d-1", environment="kept"))
    assert ["deploy dc-a v2", "deploy dc-b v2"] == kit.deployer.jobs
    assert [Fate.DEPLOYED, Fate.FAILED] == [t.fate for t in result.targets]
    assert f"dc-b: {FAILED_IN} dc-b" == result.failure


async def test_an_environment_without_datacenters_is_named_in_the_failure(kit: Kit) -> None:
    """One unnamed target: the failure names the environment."""
    kit.deployer.plan["deploy "] = "fail"
    result = await rolled_out(kit, await kit.queued("d-1", environment="single"))
    assert result.failure.startswith(f"single: {FAILED_IN} ")


async def test_stop_while_a_target_deploys_cancels_it(kit: Kit) -> None:
    """Stop while dc-a's job runs: the job is cancelled, dc-b and dc-c never start, dc-a is
    returned to v1, and the run is stopped."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    kit.deployer.plan["deploy dc-a"] = "hang"
    request = await kit.queued("d-1")
    run = asyncio.create_task(rolled_out(kit, request))
    await kit.deployer.started("deploy dc-a")
    await kit.store.request_stop(request, "U0ALICE")
    result = await run
    assert (["deploy dc-a"], ["deploy dc-a v2", "rollback dc-a v1"]) == (
        kit.deployer.cancelled,
        kit.deployer.jobs,
    )
    assert RunOutcome.STOPPED == result.outcome
    assert "dc-a: stopped by <@U0ALICE>. dc-a rolled back to v1." == result.failure
    assert [Fate.ROLLED_BACK, Fate.SKIPPED, Fate.SKIPPED] == [t.fate for t in result.targets]


async def test_stop_between_targets_starts_no_other(kit: Kit) -> None:
    """Stop pressed as dc-a's job ends: dc-b never starts, and dc-a is returned to v1."""
    await kit.running("prod", "v1", ["dc-a", "dc-b", "dc-c"])
    request = await kit.queued("d-1")
    kit.deployer.hooks["deploy dc-a"] = lambda: kit.store.request_stop(request, "U0ALICE")
    result = await rolled_out(kit, request)
    assert ["deploy dc-a v2", "rollback dc-a v1"] == kit.deployer.jobs
    assert "stopped by <@U0ALICE> before dc-b. dc-a rolled back to v1." == result.failure
    assert RunOutcome.STOPPED == result.outcome


async def test_progress_is_shown_and_the_tool_link_kept(kit: Kit) -> None:
    """What the tool says reaches the card while it runs; its link stays on the step."""
    kit.deployer.link = "https://ci.example/pipelines/1"
    await kit.queued("d-1")
    await run_request(kit.services, "d-1", "worker")
    ended = await kit.ended("d-1")
    assert 3 * ["https://ci.example/pipelines/1"] == [step.link for step in ended.steps]
    assert len(kit.notifier.shown) > 3


async def test_a_stopped_worker_records_what_it_knew(kit: Kit) -> None:
    """The worker is cancelled while dc-b deploys: the request ends failed, dc-a deployed,
    dc-b's outcome unknown, dc-c skipped; the cancellation goes on up."""
    kit.deployer.plan["deploy dc-b"] = "hang"
    await kit.queued("d-1")
    run = asyncio.create_task(run_request(kit.services, "d-1", "worker"))
    await kit.deployer.started("deploy dc-b")
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    ended = await kit.ended("d-1")
    assert (State.FAILED, STOPPED) == (ended.state, ended.failure)
    assert ["dc-a succeeded", "dc-b failed", "dc-c skipped"] == statuses(ended)
    assert "outcome unknown: its worker stopped" == ended.steps[1].detail
