"""The console's terminal: lines typed, and what Ctrl-C means at each moment.

Standard input is read on a daemon thread (a read blocked in a thread cannot be cancelled,
but a daemon thread does not keep the process alive), and SIGINT is handled by the event loop:

- waiting for a line (the prompt, or a y/N question): leave at once, exit code 0;
- while a deploy runs: ask it to stop, as the Stop button does; the deploy then rolls back what
  it changed, the console says how it ended and shows the prompt again;
- again before that deploy has ended: leave without waiting for it, exit code 130. The run in
  progress (the rollback, usually) is cancelled and the request recorded as failed; data
  centres it had not yet rolled back keep the new version.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Awaitable, Iterator
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:
    from bot.app.console import Console

QUIT, ABANDONED = 0, 130  # exit codes: nothing was cut short / a deploy was left unfinished
T = TypeVar("T")


class Leaving(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Lines:
    """Standard input, a line at a time; None at its end."""

    def __init__(self, stdin: TextIO) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, args=(stdin,), name="stdin", daemon=True).start()

    async def next(self) -> str | None:
        return await self._lines.get()

    def _read(self, stdin: TextIO) -> None:
        """On the reader thread: raw reads, so that no lock of sys.stdin is held at exit."""
        try:
            lines = _lines_of(stdin.fileno())
        except (AttributeError, OSError, ValueError):  # not a file: a StringIO, say
            lines = iter(stdin.readline, "")
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody reads any more
            for line in lines:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            self._loop.call_soon_threadsafe(self._lines.put_nowait, None)


def _lines_of(fd: int) -> Iterator[str]:
    pending = b""
    while chunk := _read_some(fd):
        *lines, pending = (pending + chunk).split(b"\n")
        yield from (line.decode(errors="replace") + "\n" for line in lines)
    if pending:
        yield pending.decode(errors="replace")


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # the terminal went away: that is the end of input
        return b""


class Session:
    """The prompt loop of one console, with Ctrl-C handled as the module says."""

    def __init__(self, console: Console, lines: Lines) -> None:
        self.console, self.lines = console, lines
        self.leaving: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._stopping: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # main thread only
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._interrupted)
        try:
            while True:
                self._write(f"{self.console.user}> ")
                line = await self._unless_leaving(self.lines.next())
                if line is None:
                    self._write("\n")
                    return QUIT
                if not await self._unless_leaving(self.console.handle(line, self.lines.next)):
                    return QUIT
        except Leaving as leaving:
            return leaving.code

    async def _unless_leaving(self, work: Awaitable[T]) -> T:
        """The result of ``work``, unless Ctrl-C means to leave first: then cancel it, let it
        end (a deploy records how it ended) and raise Leaving."""
        task = asyncio.ensure_future(work)
        either: set[asyncio.Future[Any]] = {task, self.leaving}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            self._say(f"it ended on {type(task.exception()).__name__}")
        raise Leaving(self.leaving.result())

    def _interrupted(self) -> None:
        """SIGINT, on the event loop."""
        console = self.console
        if self.leaving.done():
            return
        self._write("\n")
        if console.running is None:
            self._say("bye")
            self.leaving.set_result(QUIT)
        elif not console.stop_asked:
            task = asyncio.ensure_future(console.stop_running())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        else:
            self._say(
                f"quitting without waiting for `{console.running}`: it is ended as failed, and "
                "whatever it changed and had not yet rolled back stays changed."
            )
            self.leaving.set_result(ABANDONED)

    def _say(self, text: str) -> None:
        self._write(f"» {text}\n")

    def _write(self, text: str) -> None:
        self.console.slack.out.write(text)
        self.console.slack.out.flush()
