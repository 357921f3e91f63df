"""Returning the targets a failed run changed to what they ran before, newest first.

Every changed target is tried: one whose rollback fails, or breaks in a way nobody foresaw,
is logged and reported, and the others are still returned. Only cancellation (the worker
stopping) cuts it short.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from bot.domain.context import Run
from bot.domain.patience import best_effort
from bot.domain.progress import StepEvent
from bot.domain.run import Fate, TargetOutcome
from bot.models import Deployed, StepStatus
from bot.ports.deployer import DeployError
from bot.scrub import scrub

log = logging.getLogger(__name__)


async def undo_changed(
    run: Run, done: Sequence[TargetOutcome], before: Mapping[str, Deployed]
) -> list[TargetOutcome]:
    """``done`` with each changed target returned (or not) to what ran there before."""
    undone = {
        t.target: await _undo_one(run, t, before.get(t.target)) for t in reversed(done) if t.changed
    }
    return [undone.get(t.target, t) for t in done]


async def _undo_one(run: Run, target: TargetOutcome, previous: Deployed | None) -> TargetOutcome:
    if previous is None:
        undone = dataclasses.replace(target, fate=Fate.KEPT)
    else:
        undone = await _roll_back(run, target, previous.version)
    await run.board.ended(undone)
    return undone


async def _roll_back(run: Run, target: TargetOutcome, version: str) -> TargetOutcome:
    name, where = run.place(target.target), target.target
    rolling = StepEvent(where, StepStatus.ROLLING_BACK, "", undo=f"rolling back to {version}")
    await run.board.tell(rolling)
    try:
        await run.deployer(where).run(run.job(where, version, "rollback"), run.reporter(where))
    except DeployError as error:
        return _rollback_failed(target, version, str(error))
    except Exception:  # every changed target is tried, whatever broke this one
        log.exception("rollback of %s on %s broke off", run.request.id, name)
        return _rollback_failed(target, version, "internal error")
    await best_effort(
        run.services.store.record_deployed(run.request, where, version), "record the rollback"
    )
    return dataclasses.replace(target, fate=Fate.ROLLED_BACK, version=version)


def _rollback_failed(target: TargetOutcome, version: str, why: str) -> TargetOutcome:
    return dataclasses.replace(
        target, fate=Fate.ROLLBACK_FAILED, version=version, undo_why=scrub(why)
    )
