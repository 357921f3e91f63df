"""Running an approved request: claim it, deploy data centre by data centre, record, notify.

Called by the worker (or inline by the console). Only the head of a service+environment
lane runs; when it ends, the next request in the lane is started before anything else, and
telling people about it is best effort: Slack or a Redis blip never stalls a lane.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from bot.catalog.model import HealthCheck
from bot.domain.leases import keep_lease
from bot.domain.policy import mention
from bot.domain.requests import entry_revision, environment_of
from bot.domain.rollbacks import stale_rollback
from bot.domain.services import Services
from bot.logcontext import bind
from bot.models import Action, Deployed, DeployRequest, HistoryEntry, State, Step, StepStatus
from bot.ports.deployer import (
    Deployer,
    DeployError,
    DeployFailed,
    DeployJob,
    JobAction,
    Progress,
    ProgressSink,
)
from bot.ports.store import ClaimOutcome, FinishOutcome, FinishRecord, StoreUnavailable
from bot.scrub import scrub

log = logging.getLogger(__name__)

STOPPED = "the worker stopped before the deploy finished"
INTERNAL = "shipbot hit an internal error while deploying; check the targets"


async def run_request(services: Services, request_id: str, worker: str) -> State | None:
    """Run one queued request to the end; returns its final state, or None if not ours to run."""
    request = await services.store.get(request_id)
    if request is None:
        log.warning("request %s not found; nothing to run", request_id)
        return None
    bind(request)  # the records of this run carry its id, service and environment
    claim = await services.store.claim(request, worker)
    if claim.outcome is not ClaimOutcome.RUNNING:
        log.info("request %s not run: %s", request_id, claim)
        return None
    request = await services.store.get(request_id) or request
    if request.catalog_revision != entry_revision(services.catalog, request.service):
        return await _not_run(services, request, worker, _changed(services, request))
    if request.action is Action.ROLLBACK and (stale := await stale_rollback(services, request)):
        return await _not_run(services, request, worker, stale)
    return await _run_claimed(services, request, worker)


async def _not_run(services: Services, request: DeployRequest, worker: str, why: str) -> State:
    for step in request.steps:
        step.status = StepStatus.SKIPPED
    return await finish(services, request, worker, why)


def _changed(services: Services, request: DeployRequest) -> str:
    now = entry_revision(services.catalog, request.service)
    return (
        f"the catalog entry of {request.service} changed since this request was made "
        f"(`{request.catalog_revision}` → `{now}`), so nothing was run; please ask again"
    )


async def _run_claimed(services: Services, request: DeployRequest, worker: str) -> State:
    lease = asyncio.create_task(keep_lease(services, request.id, worker, asyncio.current_task()))
    try:
        failure = await _deploy_all(services, request)
    except asyncio.CancelledError:  # stopping, timed out, or the lease was lost
        await finish(services, request, worker, STOPPED)
        raise
    except Exception:
        log.exception("deploy %s broke off", request.id)
        failure = INTERNAL
    finally:
        lease.cancel()
    return await finish(services, request, worker, failure)


async def _deploy_all(services: Services, request: DeployRequest) -> str:
    """Deploy each target in order, each followed by the environment's health check; stop at
    the first failure and return the targets already changed to what they ran before (unless
    the catalog says not to). Returns the failure, or ""."""
    env = environment_of(services.catalog, request.service, request.environment)
    before = await services.store.current(request.service, request.environment)
    failure, landed = "", []
    for index, step in enumerate(request.steps):
        if not failure and index:
            failure = await _stopped_before(services, request, step)
        if failure:
            step.status = StepStatus.SKIPPED
            continue
        failure, changed = await _deploy_one(services, request, step, env.health_check)
        landed += [step] if changed else []
    if failure and env.rollback_on_failure and landed:
        failure = _sentence(failure) + " " + await _undo(services, request, landed, before)
    return failure


async def _deploy_one(
    services: Services, request: DeployRequest, step: Step, health: HealthCheck | None
) -> tuple[str, bool]:
    """Deploy one target; returns the failure (or "") and whether the target was changed."""
    step.status = StepStatus.RUNNING
    await _progress(services, request)
    report, name = _reporter(services, request, step), step.target or request.environment
    try:
        run = _deployer(services, request, step).run(_job(request, step.target), report)
        await _unless_stopped(services, request, run)
    except DeployError as error:  # DeployFailed: the tool ran, so the target may have changed
        return _failed(step, name, str(error)), isinstance(error, DeployFailed)
    except Exception:  # a bug in a deployer must still end the request
        log.exception("deployer crashed on %s", request.id)
        return _failed(step, name, "internal error in the deployer"), False
    await _best_effort(services.store.record_deployed(request, step.target), "record")
    if health is not None:
        try:
            checking = _wait_healthy(services, health, step.target, report)
            await _unless_stopped(services, request, checking)
        except DeployError as error:
            return _failed(step, name, str(error)), True
    step.status, step.detail = StepStatus.SUCCEEDED, ""
    return "", True


def _failed(step: Step, name: str, why: str) -> str:
    """Mark ``step`` failed, keeping its first failure; the failure as the request tells it."""
    why = scrub(why)
    step.status, step.detail, step.failure = StepStatus.FAILED, "", step.failure or why
    return f"{name}: {why}"


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


class Stopped(DeployFailed):
    """Someone pressed Stop while this target was being deployed or checked."""


async def _unless_stopped(
    services: Services, request: DeployRequest, work: Awaitable[None]
) -> None:
    """Await ``work``, or, when someone presses Stop first, show that on the card, cancel
    ``work`` (letting it clean up) and raise Stopped."""
    run = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(services.store.wait_stop(request.id))
    stopped = False
    try:
        await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done() and stop.exception() is not None:  # the watcher broke: run on
            log.error("stop watcher of %s broke", request.id, exc_info=stop.exception())
            await asyncio.wait({run})
        if stopped := not run.done():
            request.stop_requested_by = stop.result()
            await _progress(services, request)
    finally:
        stop.cancel()
        if not run.done():
            run.cancel()
            await asyncio.wait({run})
    if not stopped:
        return run.result()
    if not run.cancelled():
        run.exception()  # retrieved: it ended on our cancel, and Stopped says why
    raise Stopped(f"stopped by {mention(request.stop_requested_by)}")


async def _stopped_before(services: Services, request: DeployRequest, step: Step) -> str:
    """The failure to report when Stop was pressed before ``step`` began, else ""."""
    who = await services.store.stopped_by(request.id)
    return f"stopped by {mention(who)} before {step.target}" if who else ""


async def _wait_healthy(
    services: Services, health: HealthCheck, target: str, report: ProgressSink
) -> None:
    await services.health(
        health.url_for(target),
        datacenter=target,
        report=report,
        timeout=health.timeout_seconds,
        successes=health.successes,
        interval=health.interval_seconds,
        max_attempts=health.max_attempts,
    )


async def _undo(
    services: Services, request: DeployRequest, landed: list[Step], before: dict[str, Deployed]
) -> str:
    """Return each changed target, newest first, to the version it ran before this request;
    one that breaks does not keep the others from being tried."""
    outcomes = [await _undo_one(services, request, step, before) for step in reversed(landed)]
    await _progress(services, request)
    return _sentence("; ".join(outcomes))


async def _undo_one(
    services: Services, request: DeployRequest, step: Step, before: dict[str, Deployed]
) -> str:
    name, previous = step.target or request.environment, before.get(step.target)
    if previous is None:
        step.undo = "nothing earlier to return to"
        return f"{name}: nothing earlier to return to"
    step.status, step.detail = StepStatus.ROLLING_BACK, ""
    step.undo = f"rolling back to {previous.version}"
    await _progress(services, request)
    job = _job(request, step.target, previous.version, "rollback")
    try:
        await _deployer(services, request, step).run(job, _reporter(services, request, step))
    except Exception as error:  # every changed target is tried, whatever broke this one
        if not isinstance(error, DeployError):
            log.exception("rollback of %s on %s broke off", request.id, name)
        why = scrub(str(error)) if isinstance(error, DeployError) else "internal error"
        step.status, step.detail = StepStatus.FAILED, ""
        step.undo = f"rollback to {previous.version} failed: {why}"
        return f"{name}: rollback to {previous.version} failed"
    step.status, step.detail = StepStatus.ROLLED_BACK, ""
    step.undo = f"back on {previous.version}"
    await _best_effort(
        services.store.record_deployed(request, step.target, previous.version), "record"
    )
    return f"{name} rolled back to {previous.version}"


def _deployer(services: Services, request: DeployRequest, step: Step) -> Deployer:
    return services.deployer_for(request.service, request.environment, step.target)


def _reporter(services: Services, request: DeployRequest, step: Step) -> ProgressSink:
    async def report(event: Progress) -> None:
        step.detail, step.link = scrub(event.message), event.link or step.link
        await _progress(services, request)

    return report


def _job(
    request: DeployRequest, target: str, version: str = "", action: JobAction | None = None
) -> DeployJob:
    return DeployJob(
        request_id=request.id,
        service=request.service,
        version=version or request.version,
        environment=request.environment,
        datacenter=target,
        action=action or request.action.value,
    )


async def _progress(services: Services, request: DeployRequest) -> None:
    await _best_effort(services.store.save_steps(request), "save progress")
    await _best_effort(services.notifier.show(request.id), "show progress")


async def finish(
    services: Services, request: DeployRequest, worker: str, failure: str, *, orphan: bool = False
) -> State:
    """End a running request (its steps, history entry and the release it undid recorded at
    once) and hand its lane to the next one, then tell people. ``orphan``: the sweep (as
    ``worker``) ends a request whose worker is gone."""
    state = State.FAILED if failure else State.SUCCEEDED
    record = FinishRecord(request, worker, state, failure, _history(request, state, failure))
    ended = await (services.store.finish_orphan if orphan else services.store.finish)(record)
    if ended.outcome is not FinishOutcome.FINISHED:  # someone else ended it (the sweep)
        log.warning("request %s was already ended: %s", request.id, ended)
        return state
    if ended.next:  # its card first, so this update can't land after the next worker's
        await _best_effort(services.notifier.show(ended.next), "show the next request")
        await services.queue.start(ended.next)
    await _best_effort(_tell(services, request.id), "notify")
    return state


async def _tell(services: Services, request_id: str) -> None:
    await services.notifier.show(request_id, final=True)
    final = await services.store.get(request_id)
    if final is not None and final.state is State.SUCCEEDED:
        await services.notifier.released(final)
    elif final is not None:
        ended = "was not run:" if final.not_run else "failed."
        text = f"<@{final.requester}> the {final.summary} {ended} {final.failure}"
        await services.notifier.thread(final, text)


async def _best_effort(work: Awaitable[object], what: str) -> None:
    """Do it, or log why not: nothing after a deploy's outcome may stop the lane."""
    try:
        await work
    except Exception as error:  # a bug is logged with its traceback; an outage in one line
        outage = isinstance(error, StoreUnavailable)
        log.warning("could not %s: %s", what, type(error).__name__, exc_info=not outage)


def _history(request: DeployRequest, state: State, failure: str) -> HistoryEntry:
    return HistoryEntry(
        request_id=request.id,
        action=request.action,
        service=request.service,
        environment=request.environment,
        version=request.version,
        state=state,
        requester=request.requester,
        approvers=request.approvers,
        targets={s.target: s.status.value for s in request.steps},
        started_at=request.started_at or time.time(),
        finished_at=time.time(),
        failure=failure,
        undoes_version=request.undoes_version,
    )
