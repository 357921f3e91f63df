"""Running an approved request: claim it, deploy data centre by data centre, record, notify.

Called by the worker (or inline by the console). Only the head of a service+environment
lane runs; when it finishes, the next request in the lane is started.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.models import DeployRequest, HistoryEntry, State, Step, StepStatus
from bot.services import Services
from bot.store import StoreUnavailable
from integrations.base import DeployError, DeployJob, Progress

log = logging.getLogger(__name__)


async def run_request(services: Services, request_id: str, worker: str) -> State | None:
    """Run one queued request to the end; returns its final state, or None if not ours to run."""
    request = await services.store.get(request_id)
    if request is None:
        log.warning("request %s not found; nothing to run", request_id)
        return None
    claim = await services.store.claim(request, worker)
    if claim[0] != "running":
        log.info("request %s not run: %s", request_id, " ".join(claim))
        return None
    request = await services.store.get(request_id) or request
    heartbeat = asyncio.create_task(_keep_lease(services, request.id, worker))
    try:
        failure = await _deploy_all(services, request)
    except asyncio.CancelledError:  # the worker is stopping or the job timed out
        await _finish(services, request, worker, "the worker stopped before the deploy finished")
        raise
    finally:
        heartbeat.cancel()
    return await _finish(services, request, worker, failure)


async def recover_orphans(services: Services, worker: str) -> list[str]:
    """End, as failed, the deploys whose worker vanished (its lease lapsed); free their lanes."""
    recovered = []
    for request_id in await services.store.orphans():
        request = await services.store.get(request_id)
        if request is None:
            continue
        for step in request.steps:
            if step.status is StepStatus.RUNNING:
                step.status, step.detail = StepStatus.FAILED, "outcome unknown: its worker stopped"
            elif step.status is StepStatus.WAITING:
                step.status = StepStatus.SKIPPED
        await services.store.save_steps(request)
        await _finish(services, request, worker, LOST)
        recovered.append(request_id)
    return recovered


LOST = "the worker running this deploy stopped unexpectedly; check the targets before retrying"


async def _keep_lease(services: Services, request_id: str, worker: str) -> None:
    while True:
        await asyncio.sleep(services.store.lease_seconds / 4)
        try:
            await services.store.renew_lease(request_id, worker)
        except StoreUnavailable:
            log.warning("could not renew the lease of %s; Redis unavailable", request_id)


async def _deploy_all(services: Services, request: DeployRequest) -> str:
    """Deploy each target in order; stop at the first failure. Returns the failure, or ""."""
    failure = ""
    for step in request.steps:
        if failure:
            step.status = StepStatus.SKIPPED
            continue
        failure = await _deploy_one(services, request, step)
    await services.store.save_steps(request)
    return failure


async def _deploy_one(services: Services, request: DeployRequest, step: Step) -> str:
    step.status = StepStatus.RUNNING
    await _progress(services, request)

    async def report(event: Progress) -> None:
        step.detail = event.message
        await _progress(services, request)

    try:
        deployer = services.deployer_for(request.service)
        await deployer.run(_job(request, step.target), report)
    except DeployError as error:
        step.status, step.detail = StepStatus.FAILED, str(error)
        return f"{step.target or request.environment}: {error}"
    except Exception as error:  # a bug in a deployer must still end the request
        log.error("deployer crashed on %s: %s", request.id, type(error).__name__)
        step.status, step.detail = StepStatus.FAILED, "internal error in the deployer"
        return f"{step.target or request.environment}: internal error in the deployer"
    step.status, step.detail = StepStatus.SUCCEEDED, ""
    await services.store.record_deployed(request, step.target)
    return ""


def _job(request: DeployRequest, target: str) -> DeployJob:
    return DeployJob(
        request_id=request.id,
        service=request.service,
        version=request.version,
        environment=request.environment,
        datacenter=target,
        action=request.action.value,
    )


async def _progress(services: Services, request: DeployRequest) -> None:
    await services.store.save_steps(request)
    await services.notifier.show(request.id)


async def _finish(services: Services, request: DeployRequest, worker: str, failure: str) -> State:
    state = State.FAILED if failure else State.SUCCEEDED
    result = await services.store.finish(request, worker, state, failure)
    if result[0] != "finished":  # someone else ended it (the sweep): record nothing twice
        log.warning("request %s was already ended: %s", request.id, " ".join(result))
        return state
    await services.store.add_history(_history(request, state, failure))
    final = await services.store.get(request.id) or request
    await services.notifier.show(request.id, final=True)
    await _announce(services, final)
    if result[1]:
        await services.notifier.show(result[1])
        await services.queue.start(result[1])
    return state


async def _announce(services: Services, request: DeployRequest) -> None:
    if request.state is State.SUCCEEDED:
        await services.notifier.released(request)
        return
    await services.notifier.thread(
        request,
        f"<@{request.requester}> the deploy of {request.service} {request.version} to "
        f"{request.environment} failed. {request.failure}",
    )


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
    )
