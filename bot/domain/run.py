"""What a deploy run did, as a value: per data centre a typed outcome, and the run's outcome.

The orchestration (:mod:`bot.domain.rollout`) returns a :class:`RunResult`; :mod:`bot.domain.finish`
records it once. How it is shown (the steps on the card, the failure sentence) follows from it:
see :func:`bot.domain.progress.settle`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.models import State, Step, StepStatus


class RunOutcome(StrEnum):
    """How a run ended, as a whole."""

    SUCCEEDED = "succeeded"  # every target deployed (and checked)
    FAILED = "failed"  # a target failed, or shipbot lost track of the run
    STOPPED = "stopped"  # someone pressed Stop, or the worker was stopped
    NOT_RUN = "not_run"  # nothing was started: the request no longer fits what it asked


class Fate(StrEnum):
    """What became of one target (a data centre, or the environment when it lists none)."""

    DEPLOYED = "deployed"  # the new version runs there (and passed the health check)
    FAILED = "failed"  # deploying or checking it failed after the tool ran: it may have changed
    REFUSED = "refused"  # it could not be started: nothing there changed
    ROLLED_BACK = "rolled_back"  # changed, then returned to `version`
    ROLLBACK_FAILED = "rollback_failed"  # changed; returning it to `version` failed
    KEPT = "kept"  # changed, and nothing ran there before this request to return to
    SKIPPED = "skipped"  # never started: an earlier target failed, or Stop was pressed
    HELD = "held"  # never started: its data centre is held (``why`` says by whom and why)
    UNTOUCHED = "untouched"  # never started: the request was not run at all
    UNKNOWN = "unknown"  # it was being changed when its worker stopped


UNDONE = frozenset({Fate.ROLLED_BACK, Fate.ROLLBACK_FAILED, Fate.KEPT})
IN_FLIGHT = frozenset({StepStatus.RUNNING, StepStatus.ROLLING_BACK})
CUT_OFF_DETAIL = "outcome unknown: its worker stopped"


@dataclass(frozen=True)
class TargetOutcome:
    target: str
    fate: Fate
    why: str = ""  # why deploying or checking it failed (its first failure), for people
    version: str = ""  # ROLLED_BACK, ROLLBACK_FAILED: the version it was to return to
    undo_why: str = ""  # ROLLBACK_FAILED: why returning it failed

    @property
    def changed(self) -> bool:
        """The run may have changed it (so a failed run returns it to what ran before)."""
        return self.fate in (Fate.DEPLOYED, Fate.FAILED)

    @property
    def status(self) -> StepStatus:
        """Its step's final status on the card and in history."""
        if self.fate is Fate.KEPT:
            return StepStatus.FAILED if self.why else StepStatus.SUCCEEDED
        return _STATUS[self.fate]

    @property
    def undo(self) -> str:
        """What returning it did, as its step says it."""
        match self.fate:
            case Fate.ROLLED_BACK:
                return f"back on {self.version}"
            case Fate.ROLLBACK_FAILED:
                return f"rollback to {self.version} failed: {self.undo_why}"
            case Fate.KEPT:
                return "nothing earlier to return to"
        return ""


_STATUS = {
    Fate.DEPLOYED: StepStatus.SUCCEEDED,
    Fate.FAILED: StepStatus.FAILED,
    Fate.REFUSED: StepStatus.FAILED,
    Fate.ROLLED_BACK: StepStatus.ROLLED_BACK,
    Fate.ROLLBACK_FAILED: StepStatus.FAILED,
    Fate.SKIPPED: StepStatus.SKIPPED,
    Fate.HELD: StepStatus.SKIPPED,
    Fate.UNTOUCHED: StepStatus.SKIPPED,
    Fate.UNKNOWN: StepStatus.FAILED,
}


@dataclass(frozen=True)
class RunResult:
    """What a run did. ``targets`` lists what it knows, in rollout order; a target it cannot
    speak for (the sweep's, for targets that ended before their worker was lost) is left as
    its step shows."""

    outcome: RunOutcome
    targets: tuple[TargetOutcome, ...]
    failure: str = ""  # the sentence people read; "" when it succeeded

    @property
    def state(self) -> State:
        """The request's final state."""
        return State.SUCCEEDED if self.outcome is RunOutcome.SUCCEEDED else State.FAILED


def succeeded(targets: Sequence[TargetOutcome]) -> RunResult:
    return RunResult(RunOutcome.SUCCEEDED, tuple(targets))


def not_run(targets: Sequence[str], why: str) -> RunResult:
    """Nothing was started, for ``why`` (a sentence for people)."""
    return RunResult(
        RunOutcome.NOT_RUN, tuple(TargetOutcome(t, Fate.UNTOUCHED) for t in targets), why
    )


def halted(
    targets: Sequence[TargetOutcome], why: str, outcome: RunOutcome, environment: str
) -> RunResult:
    """The run stopped at ``why`` ("dc-a: ...", "stopped by ..."); the targets it returned to
    what ran before are named after it, newest first."""
    undone = [_undo_phrase(t, environment) for t in reversed(targets) if t.fate in UNDONE]
    failure = f"{sentence(why)} {sentence('; '.join(undone))}" if undone else why
    return RunResult(outcome, tuple(targets), failure)


def cut_off(
    steps: Sequence[Step], known: Mapping[str, TargetOutcome], why: str, outcome: RunOutcome
) -> RunResult:
    """A run that ended before it could say how (its worker was stopped, lost or broke): the
    targets it knew the end of as it knew them, the one it was changing unknown, the ones it
    had not reached skipped."""
    targets = [_cut_off(step, known.get(step.target)) for step in steps]
    return RunResult(outcome, tuple(t for t in targets if t is not None), why)


def _cut_off(step: Step, known: TargetOutcome | None) -> TargetOutcome | None:
    if step.status in IN_FLIGHT:
        return TargetOutcome(step.target, Fate.UNKNOWN, why=step.failure)
    if known is not None:
        return known
    return TargetOutcome(step.target, Fate.SKIPPED) if step.status is StepStatus.WAITING else None


def place(target: str, environment: str) -> str:
    """A target as a failure sentence names it: the data centre, or the environment."""
    return target or environment


def sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _undo_phrase(target: TargetOutcome, environment: str) -> str:
    name = place(target.target, environment)
    match target.fate:
        case Fate.ROLLED_BACK:
            return f"{name} rolled back to {target.version}"
        case Fate.ROLLBACK_FAILED:
            return f"{name}: rollback to {target.version} failed"
    return f"{name}: nothing earlier to return to"
