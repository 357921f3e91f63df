"""Deploying a request data centre by data centre, as :mod:`bot.domain.run` values.

Each target is deployed, recorded as running the new version, and checked by the
environment's health check before the next one starts; a held data centre is skipped
(:mod:`bot.domain.holds`), read as the rollout reaches it. The first failure (or Stop) ends the
rollout: the targets not reached are skipped, and the ones it changed are returned to what
they ran before (:mod:`bot.domain.undo`) unless the catalog says not to. A freeze that began
mid-run stops it before the next data centre, and nothing is undone: a rollback is a change
too (see :mod:`bot.domain.freezes.guard`). Before each data centre after the first, the
version's tag is checked to still name the commit bound to the request
(:func:`bot.domain.commits.moved_since_start`): when it moved, or GitLab cannot confirm it,
that data centre is refused as a failure, so the rest are skipped and the ones changed are
undone as after any failure (``rollback_on_failure``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.catalog.model import HealthCheck
from bot.domain.commits import moved_since_start
from bot.domain.context import Run
from bot.domain.freezes.guard import frozen_before
from bot.domain.holds import held_why
from bot.domain.patience import best_effort, until_answered
from bot.domain.policy import mention
from bot.domain.progress import StepEvent
from bot.domain.run import Fate, RunOutcome, RunResult, TargetOutcome, halted, succeeded
from bot.domain.undo import undo_changed
from bot.models import Action, StepStatus
from bot.ports.deployer import DeployError, DeployFailed
from bot.scrub import scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Halt:
    """Why a rollout stopped before its last target."""

    why: str  # "dc-a: task 'x' failed ...", "stopped by <@U1> before dc-b"
    outcome: RunOutcome  # FAILED or STOPPED
    undo: bool = True  # False: what changed stays (a freeze began; a rollback met a tag problem)


async def roll_out(run: Run) -> RunResult:
    """Deploy every target in order, or stop at the first failure and undo what changed."""
    request, store = run.request, run.services.store
    before = await until_answered(
        lambda: store.current(request.service, request.environment), "read what runs where"
    )
    done, halt = await _in_order(run)
    skipped = [TargetOutcome(t, Fate.SKIPPED) for t in request.targets[len(done) :]]
    await run.board.ended(*skipped)
    if halt is None:
        return succeeded(done)
    if run.environment.rollback_on_failure and halt.undo:
        done = await undo_changed(run, done, before)
    return halted([*done, *skipped], halt.why, halt.outcome, request.environment)


async def _in_order(run: Run) -> tuple[list[TargetOutcome], Halt | None]:
    """The targets deployed, up to the first that failed; and why it stopped there, if it did."""
    done: list[TargetOutcome] = []
    for index, target in enumerate(run.request.targets):
        if who := await run.stop.asked():
            why = f"stopped by {mention(who)} before {run.place(target)}"
            return done, Halt(why, RunOutcome.STOPPED)
        if why := await _frozen(run, target):
            return done, Halt(why, RunOutcome.STOPPED, undo=False)
        refused = await _held(run, target) or await _moved(run, target, first=index == 0)
        outcome = refused or await _deploy_one(run, target)
        await run.board.ended(outcome)
        done.append(outcome)
        if outcome.fate not in (Fate.DEPLOYED, Fate.HELD):
            stopped = RunOutcome.STOPPED if run.stop.who else RunOutcome.FAILED
            undo = refused is None or run.request.action is not Action.ROLLBACK
            return done, Halt(f"{run.place(target)}: {outcome.why}", stopped, undo=undo)
    return done, None


async def _held(run: Run, target: str) -> TargetOutcome | None:
    """Skipped, when its data centre is held as the rollout reaches it."""
    why = await held_why(run.services, run.request, target)
    return TargetOutcome(target, Fate.HELD, why=why) if why else None


async def _moved(run: Run, target: str, first: bool) -> TargetOutcome | None:
    """Refused, when the tag no longer names the approved commit (checked as the run started
    for the first target)."""
    if first:
        return None
    check = lambda: moved_since_start(run.services, run.request)  # noqa: E731
    why = await until_answered(check, "check the tag")
    return TargetOutcome(target, Fate.REFUSED, why=why) if why else None


async def _frozen(run: Run, target: str) -> str:
    """Why ``target`` must not start: a freeze began ("" when none did)."""
    check = lambda: frozen_before(run.services, run.request, run.place(target))  # noqa: E731
    return await until_answered(check, "check the freezes")


async def _deploy_one(run: Run, target: str) -> TargetOutcome:
    await run.board.tell(StepEvent(target, StepStatus.RUNNING))
    try:
        work = run.deployer(target).run(run.job(target), run.reporter(target))
        await run.stop.race(work)
    except DeployFailed as error:  # the tool ran (or was stopped): the target may have changed
        return _failed(target, Fate.FAILED, str(error))
    except DeployError as error:
        return _failed(target, Fate.REFUSED, str(error))
    except Exception:  # a bug in a deployer must still end the request
        log.exception("deployer crashed on %s", run.request.id)
        return _failed(target, Fate.REFUSED, "internal error in the deployer")
    await best_effort(run.services.store.record_deployed(run.request, target), "record")
    return await _checked(run, target, run.environment.health_check)


async def _checked(run: Run, target: str, health: HealthCheck | None) -> TargetOutcome:
    """Deployed, once the health check (if any) passed."""
    if health is None:
        return TargetOutcome(target, Fate.DEPLOYED)
    try:
        await run.stop.race(_wait_healthy(run, health, target))
    except DeployError as error:
        return _failed(target, Fate.FAILED, str(error))
    except Exception:  # a bug in the check: the new version may be unhealthy
        log.exception("health check crashed on %s", run.request.id)
        return _failed(target, Fate.FAILED, "internal error in the health check")
    return TargetOutcome(target, Fate.DEPLOYED)


async def _wait_healthy(run: Run, health: HealthCheck, target: str) -> None:
    await run.services.health(
        health.url_for(target),
        datacenter=target,
        report=run.reporter(target),
        timeout=health.timeout_seconds,
        successes=health.successes,
        interval=health.interval_seconds,
        max_attempts=health.max_attempts,
    )


def _failed(target: str, fate: Fate, why: str) -> TargetOutcome:
    return TargetOutcome(target, fate, why=scrub(why))
