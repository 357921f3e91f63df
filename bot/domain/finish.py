"""Ending a run: record its result once, hand its lane to the next request, then tell people.

The record is one atomic, idempotent step of the store (state, steps, failure, history entry,
the release a rollback undid): retried while Redis is unavailable, so a blip neither loses a
deploy's outcome nor lets the sweep report it as lost (the caller keeps the lease renewed
meanwhile). A retry whose first attempt was recorded (its answer lost) is told ALREADY and
goes on as if it had been told FINISHED. Then the lane's next request is started (retried:
starting is idempotent), and only then are people told, best effort.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.domain.leases import under_lease
from bot.domain.metrics.marks import mark
from bot.domain.patience import best_effort, patiently, until_answered
from bot.domain.run import RunOutcome, RunResult, place, sentence
from bot.domain.services import Services
from bot.models import DeployRequest, HistoryEntry, State, Step, StepStatus
from bot.ports.store import Finished, FinishOutcome, FinishRecord

log = logging.getLogger(__name__)

AUDIT_DETAIL_MAX = 400  # characters of the end's audit detail

Recorder = Callable[[FinishRecord], Awaitable[Finished]]


async def finish(
    services: Services, request: DeployRequest, worker: str, result: RunResult
) -> State | None:
    """End ``worker``'s run of ``request`` (its steps as ``request`` carries them, final) with
    ``result``; returns the request's state as recorded. The lease is renewed until the end is
    recorded (a lost one stops nothing now: it may be this very record that ended the run)."""
    recording = _recorded(services, services.store.finish, _record(request, worker, result))
    kept = under_lease(services, request.id, worker, recording, stop_when_lost=False)
    return await _end(services, request.id, await kept)


async def finish_orphan(
    services: Services, request: DeployRequest, sweeper: str, result: RunResult
) -> State | None:
    """The same, by the sweep (``sweeper``), for a run whose worker is gone."""
    record = _record(request, sweeper, result)
    recorded = _recorded(services, services.store.finish_orphan, record)
    return await _end(services, request.id, await recorded)


async def _recorded(services: Services, recorder: Recorder, record: FinishRecord) -> Finished:
    """Record it, with what it means for the metrics (read again on each try)."""

    async def attempt() -> Finished:
        return await recorder(replace(record, mark=await mark(services, record.history)))

    return await until_answered(attempt, f"record the end of {record.request.id}")


async def _end(services: Services, request_id: str, finished: Finished) -> State | None:
    if finished.outcome is FinishOutcome.NOT_RUNNING:  # ended elsewhere: record nothing twice
        log.warning("request %s was ended elsewhere (%s); not recorded", request_id, finished)
        return finished.state
    if finished.next:
        await _start(services, finished.next)
    await _tell(services, request_id)
    return finished.state


async def _start(services: Services, request_id: str) -> None:
    """Its card first, so this update can't land after the next worker's; then its job."""
    await best_effort(services.notifier.show(request_id), "show the next request")
    await until_answered(lambda: services.queue.start(request_id), f"start {request_id}")


async def _tell(services: Services, request_id: str) -> None:
    """The final card; the release note's last update and its summary (when the run had a
    note), and the note of the release a rollback undid; or a word to the requester in the
    card's thread."""
    notifier = services.notifier
    await patiently(lambda: notifier.show(request_id, final=True), "show the final card")
    final = await patiently(lambda: services.store.get(request_id), "read the ended request")
    if final is None:
        return
    if final.changelog is not None:
        await patiently(lambda: notifier.released(final), "end the release note")
    if final.state is State.SUCCEEDED and final.undoes:
        undone = final.undoes
        await patiently(lambda: notifier.undone(undone, final), "mark the undone release's note")
    elif final.state is not State.SUCCEEDED:
        text = _failed(final)
        await patiently(lambda: notifier.thread(final, text), "tell the requester")


def _failed(request: DeployRequest) -> str:
    ended = "was not run:" if request.not_run else "failed."
    return f"<@{request.requester}> the {request.summary} {ended} {request.failure}"


def _record(request: DeployRequest, worker: str, result: RunResult) -> FinishRecord:
    return FinishRecord(
        request=request,
        worker=worker,
        state=result.state,
        failure=result.failure,
        history=_history(request, result),
        voided=result.outcome is RunOutcome.NOT_RUN,
        audit_detail=audit_detail(request, result),
    )


def audit_detail(request: DeployRequest, result: RunResult) -> str:
    """The audit entry of the end: each data centre's result from the final steps ("dc-a
    deployed; dc-b skipped (held by <@U0X>: rack maintenance)"), after the failure sentence
    when it failed; only the failure when nothing was run. At most AUDIT_DETAIL_MAX long."""
    results = "; ".join(
        f"{place(s.target, request.environment)} {_result(s)}" for s in request.steps
    )
    if result.outcome is RunOutcome.NOT_RUN or not results:
        text = result.failure
    else:
        text = f"{sentence(result.failure)} {results}" if result.failure else results
    return text if len(text) <= AUDIT_DETAIL_MAX else text[: AUDIT_DETAIL_MAX - 1] + "…"


def _result(step: Step) -> str:
    match step.status:
        case StepStatus.SUCCEEDED:
            return f"deployed ({step.undo})" if step.undo else "deployed"
        case StepStatus.ROLLED_BACK:
            return f"{'failed' if step.failure else 'deployed'}, then {step.undo or 'rolled back'}"
        case StepStatus.SKIPPED:
            return f"skipped ({step.failure})" if step.failure else "skipped"
        case StepStatus.FAILED:
            return f"failed ({step.undo})" if step.undo else "failed"
    return step.status.value.replace("_", " ")


def _history(request: DeployRequest, result: RunResult) -> HistoryEntry:
    return HistoryEntry(
        request_id=request.id,
        action=request.action,
        service=request.service,
        environment=request.environment,
        version=request.version,
        state=result.state,
        requester=request.requester,
        approvers=request.approvers,
        targets={s.target: s.status.value for s in request.steps},
        started_at=request.started_at or time.time(),
        finished_at=time.time(),
        failure=result.failure,
        undoes_version=request.undoes_version,
        undoes=request.undoes,
        hotfix=request.hotfix,
        created_at=request.created_at,
        emergency=request.emergency,
    )
