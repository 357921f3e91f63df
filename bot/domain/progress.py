"""A run's progress as a stream of events, folded in one place into the steps people see.

The orchestration never touches a :class:`~bot.models.Step`: it tells the :class:`Board` what
happened (a target started, a tool said something, a target ended), and the board folds each
event into new steps, saves them and shows the card, best effort (the notifier coalesces card
updates). How a run ended (:class:`~bot.domain.run.RunResult`) is folded the same way.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.domain.patience import best_effort
from bot.domain.run import CUT_OFF_DETAIL, Fate, RunOutcome, RunResult, TargetOutcome, cut_off
from bot.domain.services import Services
from bot.models import DeployRequest, Step, StepStatus


@dataclass(frozen=True)
class StepEvent:
    """Something that happened to one target; None (or "" for link and failure) leaves that
    part of its step as it was. A step keeps its first failure."""

    target: str
    status: StepStatus | None = None
    detail: str | None = None  # the tool's latest line
    link: str = ""  # where the tool's run can be watched
    failure: str = ""
    undo: str | None = None
    at: float = field(default_factory=time.time)  # when it happened


def ended(target: TargetOutcome) -> StepEvent:
    """The event that shows how ``target`` ended (its tool's last line stays: what it did)."""
    detail = CUT_OFF_DETAIL if target.fate is Fate.UNKNOWN else None
    undo = target.undo or None
    return StepEvent(target.target, target.status, detail, failure=target.why, undo=undo)


def fold(steps: Sequence[Step], event: StepEvent) -> tuple[Step, ...]:
    return tuple(_apply(step, event) if step.target == event.target else step for step in steps)


def fold_all(steps: Sequence[Step], events: Iterable[StepEvent]) -> tuple[Step, ...]:
    return functools.reduce(fold, events, tuple(steps))


def settle(steps: Sequence[Step], result: RunResult) -> tuple[Step, ...]:
    """The final steps of a run that ended with ``result``."""
    return fold_all(steps, map(ended, result.targets))


def settled(request: DeployRequest, result: RunResult) -> DeployRequest:
    """``request`` with the final steps of a run that ended with ``result``."""
    return request.model_copy(update={"steps": list(settle(request.steps, result))})


def _apply(step: Step, event: StepEvent) -> Step:
    changes = {
        **_times(step, event),
        "status": event.status,
        "detail": event.detail,
        "link": event.link or None,
        "failure": step.failure or event.failure or None,
        "undo": event.undo,
    }
    return step.model_copy(update={k: v for k, v in changes.items() if v is not None})


def _times(step: Step, event: StepEvent) -> dict[str, float]:
    """When the step started running, and when it last came to an end."""
    if event.status is None or event.status is step.status:
        return {}
    if event.status is StepStatus.RUNNING and not step.started_at:
        return {"started_at": event.at}
    return {"finished_at": event.at} if event.status in _ENDS else {}


_ENDS = frozenset(StepStatus) - {StepStatus.WAITING, StepStatus.RUNNING, StepStatus.ROLLING_BACK}


class Board:
    """The steps of one running request: the only place its progress is folded and shown."""

    def __init__(self, services: Services, request: DeployRequest) -> None:
        self._services, self._request = services, request
        self.steps = tuple(step.model_copy() for step in request.steps)
        self._known: dict[str, TargetOutcome] = {}

    async def tell(self, *events: StepEvent) -> None:
        if events:
            self.steps = fold_all(self.steps, events)
            await self._publish()

    async def ended(self, *targets: TargetOutcome) -> None:
        """These targets ended so (a later end of the same target replaces an earlier one)."""
        self._known.update((t.target, t) for t in targets)
        await self.tell(*map(ended, targets))

    def cut_off(self, why: str, outcome: RunOutcome) -> RunResult:
        """The result of a run that ended before it could say how (see run.cut_off)."""
        return cut_off(self.steps, self._known, why, outcome)

    def request(self, result: RunResult | None = None) -> DeployRequest:
        """The request with the steps shown now, or as ``result`` leaves them."""
        shown = self._request.model_copy(update={"steps": list(self.steps)})
        return settled(shown, result) if result else shown

    async def _publish(self) -> None:
        services, request = self._services, self.request()
        await best_effort(services.store.save_steps(request), "save progress")
        await best_effort(services.notifier.show(request.id), "show progress")
