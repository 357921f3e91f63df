"""Running an approved request: claim it, run it (:mod:`bot.domain.rollout`), record how it
ended (:mod:`bot.domain.finish`).

Called by the worker (or inline by the console). Only the head of a service+environment
lane runs. The worker renews its lease on the run until its end is recorded; when the lease
turns out lost (the sweep ended the run), the rollout is cancelled.
"""

from __future__ import annotations

import asyncio
import logging

from bot.domain import commits
from bot.domain.context import Run
from bot.domain.finish import finish
from bot.domain.freezes.guard import tell_broken, waits_for_freeze
from bot.domain.holds import all_held
from bot.domain.ids import new_attempt_id
from bot.domain.leases import under_lease
from bot.domain.lookup import environment_of
from bot.domain.patience import best_effort, until_answered
from bot.domain.progress import Board
from bot.domain.release_notes import ReleaseNote
from bot.domain.requests import entry_revision
from bot.domain.rollbacks import stale_rollback
from bot.domain.rollout import roll_out
from bot.domain.run import RunOutcome, RunResult, not_run
from bot.domain.services import Services
from bot.domain.stop import StopWatch
from bot.logcontext import bind
from bot.models import Action, DeployRequest, State
from bot.ports.store import Claim, ClaimOutcome

log = logging.getLogger(__name__)

STOPPED = "the worker stopped before the deploy finished"
INTERNAL = "shipbot hit an internal error while deploying; check the targets"


async def run_request(services: Services, request_id: str, worker: str) -> State | None:
    """Run one queued request to the end; returns its final state, or None if not ours to run."""
    reading = f"read {request_id}"  # before the claim too, Redis blips are waited out
    request = await until_answered(lambda: services.store.get(request_id), reading)
    if request is None:
        log.warning("request %s not found; nothing to run", request_id)
        return None
    bind(request)  # the records of this run carry its id, service and environment
    freeze = f"check the freezes of {request_id}"
    if await until_answered(lambda: waits_for_freeze(services, request), freeze):
        return None  # a freeze: it waits at the head of its lane
    claim = await _claim(services, request, worker)
    if claim.outcome is not ClaimOutcome.RUNNING:
        log.info("request %s not run: %s", request_id, claim)
        return None
    reread = await until_answered(lambda: services.store.get(request_id), reading)
    await best_effort(tell_broken(services, reread or request), "tell a freeze was broken")
    return await _run_claimed(services, reread or request, worker)


async def _claim(services: Services, request: DeployRequest, worker: str) -> Claim:
    """Claim it, retried through Redis blips as one attempt: a retry whose first answer was
    lost is answered RUNNING again, so a claim that took is never left to the sweep."""
    attempt = new_attempt_id()
    claiming = f"claim {request.id}"
    return await until_answered(lambda: services.store.claim(request, worker, attempt), claiming)


async def _run_claimed(services: Services, request: DeployRequest, worker: str) -> State | None:
    board, note = Board(services, request), ReleaseNote(services, request)
    running = _result(services, request, board, note)
    try:
        result = await under_lease(services, request.id, worker, running, stop_when_lost=True)
    except asyncio.CancelledError:  # stopping, timed out, or the lease was lost
        note.cancel()
        cut_off = board.cut_off(STOPPED, RunOutcome.STOPPED)
        await finish(services, board.request(cut_off), worker, cut_off)
        raise
    state = await finish(services, board.request(result), worker, result)
    await note.ended(state)
    return state


async def _result(
    services: Services, request: DeployRequest, board: Board, note: ReleaseNote
) -> RunResult:
    """How the run ended; a bug in shipbot ends it too, saying what it knew."""
    try:
        if why := await _why_not_run(services, request):
            return not_run(request.targets, why)
        if services.source and not request.commit_sha:  # perhaps bound as it started
            request = await until_answered(lambda: _reread(services, request), "read it")
        return await _rolled_out(services, request, board, note)
    except Exception:
        log.exception("deploy %s broke off", request.id)
        return board.cut_off(INTERNAL, RunOutcome.FAILED)


async def _why_not_run(services: Services, request: DeployRequest) -> str:
    """Why the request must not run after all ("" when it may)."""
    if request.catalog_revision != entry_revision(services.catalog, request.service):
        return _changed(services, request)
    if moved := await until_answered(lambda: commits.moved(services, request), "check the tag"):
        return moved
    if request.action is Action.ROLLBACK:
        check = "check the rollback is still wanted"
        if stale := await until_answered(lambda: stale_rollback(services, request), check):
            return stale
    return await all_held(services, request)


async def _reread(services: Services, request: DeployRequest) -> DeployRequest:
    return await services.store.get(request.id) or request


def _changed(services: Services, request: DeployRequest) -> str:
    now = entry_revision(services.catalog, request.service)
    return (
        f"the catalog entry of {request.service} changed since this request was made "
        f"(`{request.catalog_revision}` → `{now}`), so nothing was run; please ask again"
    )


async def _rolled_out(
    services: Services, request: DeployRequest, board: Board, note: ReleaseNote
) -> RunResult:
    """Its release note opened, the rollout; the note given a moment to be posted."""
    stop = StopWatch(services.store, request.id)
    try:
        environment = environment_of(services.catalog, request.service, request.environment)
        await note.open()
        result = await roll_out(Run(services, request, environment, board, stop))
        await note.settled()
        return result
    finally:
        stop.close()
