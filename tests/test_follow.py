"""integrations.follow with a tiny scripted tool: the rules every polling deployer shares."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.ports.deployer import DeployError, DeployFailed, DeployUnreachable, Progress
from integrations.follow import Reporter, Rules, Seen, follow
from tests.fakes.recorders import ProgressRecorder
from tests.waiting import until

Step = str | Exception | Seen  # a line to say, an error to raise, or how the run stands


@dataclass
class Scripted:
    """A Tool whose reads follow ``script``, then stay running; it records every cancel."""

    reporter: Reporter
    script: list[Step] = field(default_factory=list)
    gate: asyncio.Event | None = None  # start answers once it is set
    refusal: Exception | None = None  # start raises it
    starting: asyncio.Event = field(default_factory=asyncio.Event)
    reads: int = 0
    cancels: list[str | None] = field(default_factory=list)

    async def start(self) -> str:
        self.starting.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.refusal is not None:
            raise self.refusal
        return "run-1"

    async def read(self, started: str) -> Seen:
        self.reads += 1
        step = self.script.pop(0) if self.script else Seen.RUNNING
        if isinstance(step, Exception):
            raise step
        if isinstance(step, str):
            await self.reporter.say(step)
            return Seen.RUNNING
        return step

    async def cancel(self, started: str | None) -> None:
        self.cancels.append(started)

    def lost(self, started: str) -> str:
        return f"{started} was started; shipbot lost track of it"

    def overdue(self, started: str | None, last: str) -> str:
        return f"{started} did not finish in time (last: {last})"


def scripted(*script: Step, sink: ProgressRecorder | None = None) -> Scripted:
    return Scripted(Reporter("dc-a", sink or ProgressRecorder(), "http://tool/run-1"), list(script))


def rules(**overrides: object) -> Rules:
    fields: dict = {"timeout_seconds": 30, "poll_seconds": 0.001, "lost_after": 3}
    return Rules(**(fields | overrides))


class RecordingWake:
    """A wake that records each wait; it returns at once while ``news`` is set."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.news = False

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if not self.news:
            await asyncio.sleep(seconds)


UNREACHABLE = DeployUnreachable("tool out of reach")


# Following to the end


async def test_a_run_seen_done_ends_without_a_cancel() -> None:
    """A run read as done ends the follow; nothing is cancelled."""
    tool = scripted("building", Seen.DONE)
    await follow(tool, rules(), tool.reporter)
    assert ([], 2) == (tool.cancels, tool.reads)


async def test_duplicate_progress_is_suppressed() -> None:
    """A line equal to the one last said is not said again."""
    sink = ProgressRecorder()
    tool = scripted("building", "building", "deploying", "deploying", Seen.DONE, sink=sink)
    await follow(tool, rules(), tool.reporter)
    assert ["building", "deploying"] == sink.messages


async def test_progress_names_the_datacenter_and_links_the_run() -> None:
    """Each line carries the reporter's data centre and the run's link."""
    sink = ProgressRecorder()
    tool = scripted("building", Seen.DONE, sink=sink)
    await follow(tool, rules(), tool.reporter)
    assert [Progress("dc-a", "building", False, "http://tool/run-1")] == sink.events


async def test_lines_are_suppressed_per_topic() -> None:
    """A topic's line is said once, even when another topic spoke in between."""
    sink = ProgressRecorder()
    reporter = Reporter("dc-a", sink)
    for topic, line in [("op", "sync Running"), ("health", "Progressing"), ("op", "sync Running")]:
        await reporter.say(line, topic=topic)
    assert ["sync Running", "Progressing"] == sink.messages


async def test_a_failing_sink_does_not_fail_the_run() -> None:
    """A progress sink that raises is logged; the run is followed to the end."""

    async def broken(progress: Progress) -> None:
        raise RuntimeError("slack is down")

    tool = Scripted(Reporter("dc-a", broken), ["building", Seen.DONE])
    await follow(tool, rules(), tool.reporter)
    assert 2 == tool.reads


# Missed reads


async def test_missed_reads_below_the_limit_are_tolerated() -> None:
    """Two failed reads in a row, with lost_after 3, do not end the run."""
    tool = scripted("building", UNREACHABLE, UNREACHABLE, "deploying", Seen.DONE)
    await follow(tool, rules(), tool.reporter)
    assert 5 == tool.reads


async def test_misses_count_in_a_row_only() -> None:
    """A good read in between starts the count again."""
    tool = scripted(UNREACHABLE, UNREACHABLE, "building", UNREACHABLE, UNREACHABLE, Seen.DONE)
    await follow(tool, rules(), tool.reporter)
    assert 6 == tool.reads


async def test_too_many_missed_reads_lose_track_of_the_run() -> None:
    """The third failed read in a row is DeployFailed, saying what was lost track of."""
    tool = scripted("building", UNREACHABLE, UNREACHABLE, UNREACHABLE)
    with pytest.raises(DeployError) as caught:
        await follow(tool, rules(), tool.reporter)
    expected = "tool out of reach (run-1 was started; shipbot lost track of it)"
    assert (DeployFailed, expected) == (type(caught.value), str(caught.value))


async def test_a_run_lost_track_of_is_cancelled() -> None:
    """What shipbot lost track of is cancelled, not left running."""
    tool = scripted(UNREACHABLE, UNREACHABLE, UNREACHABLE)
    with pytest.raises(DeployFailed):
        await follow(tool, rules(), tool.reporter)
    assert ["run-1"] == tool.cancels


async def test_a_read_failing_otherwise_loses_track_at_once() -> None:
    """A failure that is not missable loses track on the first read."""
    tool = scripted(DeployError("run-1 not found"))
    with pytest.raises(DeployFailed) as caught:
        await follow(tool, rules(), tool.reporter)
    expected = "run-1 not found (run-1 was started; shipbot lost track of it)"
    assert (expected, 1) == (str(caught.value), tool.reads)


# Failures


async def test_a_failed_run_is_raised_as_the_tool_words_it_and_cancelled() -> None:
    """DeployFailed from a read ends the follow as it is, and cancels the run."""
    tool = scripted("building", DeployFailed("run-1 failed: job deploy"))
    with pytest.raises(DeployFailed) as caught:
        await follow(tool, rules(), tool.reporter)
    assert ("run-1 failed: job deploy", ["run-1"]) == (str(caught.value), tool.cancels)


async def test_a_refused_start_is_raised_as_it_is_and_cancels_nothing() -> None:
    """A start the tool refuses started nothing: its error stays a plain DeployError."""
    tool = scripted()
    tool.refusal = DeployError("no such ref")
    with pytest.raises(DeployError) as caught:
        await follow(tool, rules(), tool.reporter)
    assert (DeployError, "no such ref", []) == (type(caught.value), str(caught.value), tool.cancels)


async def test_a_crash_while_following_is_deploy_failed_and_cancels_the_run() -> None:
    """A bug after the start (a KeyError reading the run) is DeployFailed, for the target may
    have changed; the run is cancelled and the bug's text is not shown."""
    tool = scripted("building", KeyError("token=secret"))
    with pytest.raises(DeployFailed) as caught:
        await follow(tool, rules(), tool.reporter)
    expected = (
        "internal error (KeyError) while following the run"
        " (run-1 was started; shipbot lost track of it)"
    )
    assert (expected, ["run-1"]) == (str(caught.value), tool.cancels)


async def test_a_crash_while_following_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The bug that failed the follow is logged with its traceback for operators."""
    tool = scripted(KeyError("status"))
    with pytest.raises(DeployFailed):
        await follow(tool, rules(), tool.reporter)
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert [KeyError] == [type(error) for error in logged]


async def test_a_crash_in_the_start_is_raised_as_it_is_and_cancels_nothing() -> None:
    """A bug in the start, before anything started, stays what it is (the deploy is refused)."""
    tool = scripted()
    tool.refusal = KeyError("id")
    with pytest.raises(KeyError):
        await follow(tool, rules(), tool.reporter)
    assert [] == tool.cancels


# Timeout


async def test_timeout_cancels_and_names_the_last_status() -> None:
    """A run still running after timeout_seconds is cancelled; the failure names what was last
    said."""
    tool = scripted("building", "deploying")
    with pytest.raises(DeployFailed) as caught:
        await follow(tool, rules(timeout_seconds=0.2), tool.reporter)
    expected = ("run-1 did not finish in time (last: deploying)", ["run-1"])
    assert expected == (str(caught.value), tool.cancels)


async def test_timeout_during_the_start_cancels_what_it_started() -> None:
    """A start answered only after the timeout is still cancelled once it answers."""
    tool = scripted()
    tool.gate = asyncio.Event()
    running = asyncio.create_task(follow(tool, rules(timeout_seconds=0.1), tool.reporter))
    await until(lambda: tool.starting.is_set() and running.cancelling())  # the timeout struck
    tool.gate.set()
    with pytest.raises(DeployFailed) as caught:
        await running
    assert ("run-1 did not finish in time (last: )", ["run-1"]) == (
        str(caught.value),
        tool.cancels,
    )


# Stopped (asyncio cancellation)


async def test_stopping_while_following_cancels_the_run() -> None:
    """Cancelling the follow cancels what was started, then propagates."""
    tool = scripted("building")
    running = asyncio.create_task(follow(tool, rules(), tool.reporter))
    await until(lambda: tool.reads >= 2)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert ["run-1"] == tool.cancels


async def test_cancel_during_start_cancels_what_was_started() -> None:
    """Stopped while the start request is under way, the follow waits for its answer and
    cancels what it started."""
    tool = scripted()
    tool.gate = asyncio.Event()
    running = asyncio.create_task(follow(tool, rules(), tool.reporter))
    await until(lambda: tool.starting.is_set())
    running.cancel()
    tool.gate.set()  # the answer comes after the stop
    with pytest.raises(asyncio.CancelledError):
        await running
    assert ["run-1"] == tool.cancels


async def test_a_start_never_answered_is_cancelled_as_unknown() -> None:
    """Stopped during a start that never answers: after cancel_seconds the tool is asked to
    cancel with None (it may have started), and the stop propagates."""
    tool = scripted()
    tool.gate = asyncio.Event()
    running = asyncio.create_task(follow(tool, rules(cancel_seconds=0.05), tool.reporter))
    await until(lambda: tool.starting.is_set())
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert [None] == tool.cancels


async def test_stopping_before_the_start_cancels_nothing() -> None:
    """A start refused after the stop started nothing, so nothing is cancelled."""
    tool = scripted()
    tool.gate, tool.refusal = asyncio.Event(), DeployError("refused")
    running = asyncio.create_task(follow(tool, rules(), tool.reporter))
    await until(lambda: tool.starting.is_set())
    running.cancel()
    tool.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert [] == tool.cancels


# Pace


async def test_waits_double_while_nothing_changes_and_reset_on_news() -> None:
    """Waits start at poll_seconds, double up to max_poll_seconds, and a new line resets them."""
    wake = RecordingWake()
    tool = scripted("building", *[Seen.RUNNING] * 4, "deploying", Seen.DONE)
    pace = rules(poll_seconds=0.01, max_poll_seconds=0.04, wake=wake)
    await follow(tool, pace, tool.reporter)
    assert [0.01, 0.02, 0.04, 0.04, 0.04, 0.01] == wake.waits


async def test_a_wake_up_resets_the_wait() -> None:
    """News from the wake (it returned early) makes the next wait poll_seconds again."""
    wake = RecordingWake()
    wake.news = True
    tool = scripted("building", *[Seen.RUNNING] * 3, Seen.DONE)
    pace = rules(poll_seconds=1.0, max_poll_seconds=8.0, wake=wake)
    await follow(tool, pace, tool.reporter)
    assert [1.0, 1.0, 1.0, 1.0] == wake.waits
