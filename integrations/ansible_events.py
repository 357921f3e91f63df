"""ansible-runner's job events, as shipbot's progress and errors.

Upstream: ansible-runner's ``event_handler`` and the events of its display callback
(https://ansible.readthedocs.io/projects/runner/en/stable/intro/#runner-artifact-job-events-host-and-playbook-events).
Events arrive on runner's worker thread; :class:`Events` turns each into a Progress for the
event loop, and remembers what a verdict needs: the first failure, ansible's own error lines,
the hosts played, and ansible-playbook's process id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from bot.ports.deployer import DeployError, DeployFailed, DeployUnreachable, Progress, ProgressSink

log = logging.getLogger(__name__)

_ERROR_LINE = re.compile(r"^(?:\[ERROR\]:|ERROR!)\s*")
_MAX_REASON = 300


class Events:
    """Runner's event_handler: events in on the worker thread, Progress out on the loop."""

    def __init__(self, datacenter: str, playbook: str) -> None:
        self._datacenter, self._playbook = datacenter, playbook
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Progress | None] = asyncio.Queue()
        self.failure: DeployError | None = None
        self.errors: list[str] = []  # ansible's own error lines, when no task ran
        self.hosts = 0  # hosts the playbook ran on, from the final stats
        self.pid: int | None = None  # ansible-playbook's, once the playbook has started
        self.last = ""  # the last line said

    def __call__(self, event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        task, host = data.get("task", ""), data.get("host", "")
        match event.get("event"):
            case "playbook_on_start":
                self.pid = event.get("pid")  # its callbacks run in ansible-playbook itself
                self._say(f"playbook {self._playbook} started")
            case "playbook_on_task_start":
                self._say(f"TASK [{task}]")
            case "runner_on_ok":
                changed = (data.get("res") or {}).get("changed")
                self._say(f"TASK [{task}] {'changed' if changed else 'ok'} on {host}")
            case "runner_on_failed" if data.get("ignore_errors"):
                self._say(f"TASK [{task}] failed on {host} (ignored)")
            case "runner_on_failed":
                why = _reason(data)
                self._fail(
                    f"TASK [{task}] failed on {host}: {why}",
                    DeployFailed(f"task '{task}' failed on host '{host}': {why}"),
                )
            case "runner_on_unreachable":
                why = _reason(data)
                self._fail(
                    f"TASK [{task}] unreachable on {host}: {why}",
                    DeployUnreachable(f"host '{host}' unreachable: {why}"),
                )
            case "playbook_on_stats":
                self.hosts = len(data.get("processed") or {})
            case "verbose":
                self._note(event.get("stdout", ""))
        return False  # nobody reads runner's on-disk copy of the event

    async def relay(self, report: ProgressSink) -> None:
        """Await ``report`` in order on the loop; a failing sink is logged, the deploy goes on."""
        while (progress := await self._queue.get()) is not None:
            try:
                await report(progress)
            except Exception:
                log.exception("progress report failed: %s", progress.message)

    def close(self) -> None:
        """On the loop, after the run: let relay() finish what is queued, then stop."""
        self._queue.put_nowait(None)

    def _say(self, message: str, failed: bool = False) -> None:
        self.last = message
        progress = Progress(datacenter=self._datacenter, message=message, failed=failed)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, progress)

    def _fail(self, message: str, error: DeployError) -> None:
        self._say(message, failed=True)
        self.failure = self.failure or error

    def _note(self, line: str) -> None:
        if _ERROR_LINE.match(line) or (self.errors and line.startswith("Origin:")):
            self.errors.append(_ERROR_LINE.sub("", line).strip())


def _reason(data: Mapping[str, Any]) -> str:
    res = data.get("res") or {}
    text = str(res.get("msg") or res.get("censored") or "no message")
    if res.get("stderr"):  # command/shell: msg is just "non-zero return code"
        text = f"{text}: {res['stderr']}"
    return trim(text.removeprefix("Task failed: "))


def trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
