"""Following a run a tool has started, the same way for every deployer that polls.

GitLab (a pipeline), Argo CD (a sync or a rollback) and Kubernetes (a rollout) each start
something, then read it until it ends. What is the tool's own (how to start the run, read it,
cancel it, and how to word a run lost track of or late) is a :class:`Tool`; :func:`follow`
applies one set of rules to all of them:

- The timeout counts from the start request to the end of the run.
- Reads are paced: ``poll_seconds`` at first and after news (a new progress line, or a wake-up
  from ``wake``), doubling up to ``max_poll_seconds`` while nothing changes.
- A read may fail (``missable``) ``lost_after - 1`` times in a row; the next failure in a row
  means shipbot has lost track of the run. A read failing otherwise loses track at once.
- Once the run has started every failure is DeployFailed, for the target may have changed: a
  lost run says so through ``Tool.lost``, a late one through ``Tool.overdue``; a bug while
  following it (any other exception) is logged with its traceback and said as an internal
  error, with ``Tool.lost``. Only asyncio cancellation propagates as it is, after the cancel.
- Every way out but success (the run failed, the timeout, losing track, asyncio cancellation,
  even while the start request is under way) cancels what was started, waiting at most
  ``cancel_seconds`` for the tool to answer the start or take the cancel.
- Progress goes through a :class:`Reporter`: each line once per topic, for one data centre,
  with the run's link; a sink that fails is logged and never fails the deploy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from bot.ports.deployer import DeployError, DeployFailed, DeployUnreachable, Progress, ProgressSink

log = logging.getLogger(__name__)

H = TypeVar("H")


class Seen(Enum):
    """What one read found. A run seen to have failed is DeployFailed, in the tool's words."""

    RUNNING = "running"
    DONE = "done"


class Tool(Protocol[H]):
    """One run of one tool. ``H`` is what ``start`` started (never None)."""

    async def start(self) -> H:
        """Send the request that starts the run; a DeployError means nothing started."""
        ...

    async def read(self, started: H) -> Seen:
        """Look at the run once, saying what is new; DeployFailed if it failed."""
        ...

    async def cancel(self, started: H | None) -> None:
        """Stop the run unless it has ended. None: the start was sent and never answered."""
        ...

    def lost(self, started: H) -> str:
        """What was started and where to look, said after the error of a run lost track of."""
        ...

    def overdue(self, started: H | None, last: str) -> str:
        """Why a run that outlived the timeout failed; ``last`` is what was said last."""
        ...


@dataclass(frozen=True)
class Rules:
    """How one tool's runs are followed (see the module's docstring)."""

    timeout_seconds: float
    poll_seconds: float
    max_poll_seconds: float = 0.0  # 0: every wait is poll_seconds
    lost_after: int = 5
    missable: type[DeployError] = DeployUnreachable
    cancel_seconds: float = 5.0
    wake: Callable[[float], Awaitable[object]] | None = None  # returns early on news of the run


class Reporter:
    """Says one run's progress: each line once per topic, for one data centre, with the run's
    link (``link`` may be set once the run has one); a failing sink is logged, never raised."""

    def __init__(self, datacenter: str, sink: ProgressSink, link: str = "") -> None:
        self.datacenter, self.link, self._sink = datacenter, link, sink
        self._said: dict[str, str] = {}  # topic → the line last said on it
        self.last = ""  # the line said last, on any topic
        self.count = 0  # lines said so far: a change means news

    async def say(self, message: str, failed: bool = False, topic: str = "") -> None:
        """Say ``message`` unless it is what was last said on ``topic``."""
        if self._said.get(topic) == message:
            return
        self._said[topic] = self.last = message
        self.count += 1
        try:
            await self._sink(Progress(self.datacenter, message, failed, self.link))
        except Exception:  # a failing sink must not fail the deploy
            log.exception("progress report failed: %s", message)


async def follow(tool: Tool[H], rules: Rules, reporter: Reporter) -> None:
    """Start the tool's run and follow it to the end; raise DeployError unless it succeeds."""
    await _Follow(tool, rules, reporter).run()


class _Follow(Generic[H]):
    """One run followed: what was started, and every way out but success."""

    def __init__(self, tool: Tool[H], rules: Rules, reporter: Reporter) -> None:
        self._tool, self._rules, self._reporter = tool, rules, reporter
        self._pace = _Pace(rules)
        self._started: H | None = None
        self._unanswered = False  # the start was sent and never answered: it may run

    async def run(self) -> None:
        deadline = asyncio.timeout(self._rules.timeout_seconds)
        try:
            async with deadline:
                self._started = await self._start()
                await self._until_done(self._started)
        except BaseException as error:  # asyncio cancellation included
            await self._abandon()
            if deadline.expired():
                last = self._reporter.last
                raise DeployFailed(self._tool.overdue(self._started, last)) from None
            if self._started is None or isinstance(error, DeployFailed):
                raise
            if not isinstance(error, Exception):  # asyncio cancellation: the stop goes on
                raise
            raise self._failed(self._started, error) from error

    def _failed(self, started: H, error: Exception) -> DeployFailed:
        """``error``, raised after the start, as DeployFailed: the target may have changed. A
        bug's text may hold anything, so users get its type and the log its traceback."""
        where = self._tool.lost(started)
        if isinstance(error, DeployError):  # shipbot lost track of the run
            return DeployFailed(f"{error} ({where})")
        log.error("internal error while following the run (%s)", where, exc_info=error)
        kind = type(error).__name__
        return DeployFailed(f"internal error ({kind}) while following the run ({where})")

    async def _start(self) -> H:
        """The start request, seen through: stopped meanwhile, wait briefly for its answer so
        that what it started is cancelled (the request goes on whether anyone waits or not)."""
        starting = asyncio.ensure_future(self._tool.start())
        starting.add_done_callback(_retrieved)
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            await asyncio.wait({starting}, timeout=self._rules.cancel_seconds)
            self._unanswered = not starting.done()
            self._started = _answer(starting)
            raise

    async def _until_done(self, started: H) -> None:
        misses = 0
        while True:
            said = self._reporter.count
            try:
                if await self._tool.read(started) is Seen.DONE:
                    return
                misses = 0
            except self._rules.missable as error:
                misses = self._missed(misses + 1, error)
            await self._pace.wait(news=self._reporter.count != said)

    def _missed(self, misses: int, error: DeployError) -> int:
        """Count one more failed read in a row; the ``lost_after``-th raises ``error``."""
        if misses >= self._rules.lost_after:
            raise error
        log.warning("%s; reading it again (%d of %d)", error, misses, self._rules.lost_after)
        return misses

    async def _abandon(self) -> None:
        """Cancel what was started, or may have been; wait at most ``cancel_seconds``."""
        if self._started is None and not self._unanswered:
            return
        cancel = asyncio.ensure_future(self._tool.cancel(self._started))
        cancel.add_done_callback(_cancel_logged)
        await asyncio.wait({cancel}, timeout=self._rules.cancel_seconds)
        if not cancel.done():
            log.warning("the cancel was not taken within %ss", self._rules.cancel_seconds)
            cancel.cancel()


class _Pace:
    """Waits between reads: ``poll_seconds`` after news, doubling while nothing changes."""

    def __init__(self, rules: Rules) -> None:
        self._first, self._wake = rules.poll_seconds, rules.wake
        self._most = max(rules.max_poll_seconds, rules.poll_seconds)
        self._delay = self._first

    async def wait(self, news: bool) -> None:
        delay = self._first if news else self._delay
        woke = await self._sleep(delay)
        self._delay = self._first if woke else min(delay * 2, self._most)

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if ``wake`` brings news; True when it did."""
        if self._wake is None:
            await asyncio.sleep(seconds)
            return False
        loop = asyncio.get_running_loop()
        began = loop.time()
        await self._wake(seconds)
        return loop.time() - began < seconds * 0.9


def _answer(starting: asyncio.Future[H]) -> H | None:
    if starting.done() and not starting.cancelled() and starting.exception() is None:
        return starting.result()
    return None


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Mark a start's failure as seen: a stopped follow may never await it."""
    if not task.cancelled():
        task.exception()


def _cancel_logged(task: asyncio.Future[None]) -> None:
    if task.cancelled() or (error := task.exception()) is None:
        return
    trace = None if isinstance(error, DeployError) else error  # a bug keeps its traceback
    log.warning("could not cancel the run: %s", error, exc_info=trace)
