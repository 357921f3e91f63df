"""Ansible deployer: one ``ansible-playbook`` run per DeployJob, through ansible-runner.

Upstream: ansible-runner's Python interface, ``ansible_runner.run`` and its job events
(https://ansible.readthedocs.io/projects/runner/en/stable/python_interface/).

Each run gets a fresh private data directory, deleted afterwards, holding the extra-vars
files (never on a command line), ansible's temp dirs and runner's artifacts. Job values
(``shipbot_*``, ``job.vars``) are tagged ``!unsafe`` so ansible never templates them: a
version typed as ``{{ lookup('pipe', 'id') }}`` stays text. Catalog ``vars`` may be templates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import yaml
from ansible_runner.exceptions import AnsibleRunnerException

from bot.ports.deployer import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    Progress,
    ProgressSink,
)

log = logging.getLogger(__name__)

_LOCALHOST = (
    f"localhost ansible_connection=local ansible_python_interpreter={shlex.quote(sys.executable)}"
)
_ERROR_LINE = re.compile(r"^(?:\[ERROR\]:|ERROR!)\s*")
_MAX_REASON = 300
_STOP_WAIT = 15  # seconds a cancelled run waits for ansible-playbook to be killed


@dataclass(frozen=True)
class AnsibleDeployer:
    """Runs ``playbook`` for each job against ``inventory`` (default: this machine)."""

    playbook: Path
    inventory: Path | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    workdir: Path | None = None  # shipbot_workdir; the process cwd when None
    timeout: int | None = None  # seconds; ansible-runner kills the run after it

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout < 1:
            raise ValueError("timeout must be at least 1 second")  # runner treats 0 as "none"

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Run the playbook for ``job``; raise DeployError (or a subclass) unless it succeeds."""
        binary = self._preflight()
        events = _Events(job.datacenter, self.playbook.name)
        relay = asyncio.create_task(events.relay(report))
        cancelled = threading.Event()
        execution = asyncio.ensure_future(
            asyncio.to_thread(self._execute, job, binary, events, cancelled.is_set)
        )
        try:
            status, rc = await asyncio.shield(execution)
        except asyncio.CancelledError:
            cancelled.set()  # runner polls this and kills ansible-playbook
            await asyncio.wait([execution], timeout=_STOP_WAIT)  # so nothing runs on after us
            raise
        finally:
            events.close()
        await relay
        self._verdict(status, rc, events)

    def _preflight(self) -> Path:
        for kind, path in (("playbook", self.playbook), ("inventory", self.inventory)):
            if path is not None and not path.is_file():
                raise DeployError(
                    f"playbook {self.playbook} could not run: {kind} {path} not found"
                )
        binary = _ansible_playbook()
        if binary is None:
            raise DeployError(f"playbook {self.playbook} could not run: no ansible-playbook")
        return binary

    def _execute(
        self, job: DeployJob, binary: Path, events: _Events, cancelled: Callable[[], bool]
    ) -> tuple[str, int | None]:
        """Worker thread: one ansible-runner run in a private dir deleted afterwards."""
        with tempfile.TemporaryDirectory(prefix="shipbot-ansible-") as tmp:
            private = Path(tmp)
            try:
                runner = ansible_runner.run(
                    **self._runner_kwargs(job, binary, private),
                    event_handler=events,
                    cancel_callback=cancelled,
                )
            except (AnsibleRunnerException, OSError, ValueError, yaml.YAMLError) as exc:
                events.errors.append(str(exc))
                return "error", None
            return runner.status, runner.rc

    def _runner_kwargs(self, job: DeployJob, binary: Path, private: Path) -> dict[str, Any]:
        return {
            "private_data_dir": str(private),
            "project_dir": str(self.playbook.parent.absolute()),  # cwd: its ansible.cfg applies
            "binary": str(binary),  # runner then ignores playbook=; it goes in cmdline
            "cmdline": self._cmdline(job, private),
            "inventory": str(self.inventory.absolute()) if self.inventory else _LOCALHOST,
            "envvars": self._envvars(private),
            "settings": {"pexpect_timeout": 1, "suppress_output_file": True},
            "quiet": True,
            "timeout": self.timeout,
        }

    def _envvars(self, private: Path) -> dict[str, str]:
        """Quiet, no retry files; host keys stay checked unless the target is this machine."""
        envvars = {
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCAL_TEMP": str(private / "tmp" / "local"),
        }
        if self.inventory is None:  # the implicit localhost: local connection, local temp
            envvars["ANSIBLE_HOST_KEY_CHECKING"] = "False"
            envvars["ANSIBLE_REMOTE_TEMP"] = str(private / "tmp" / "remote")
        return envvars

    def _cmdline(self, job: DeployJob, private: Path) -> str:
        trusted = _dump(private / "catalog-vars.yml", dict(self.vars))
        data = _dump(private / "job-vars.yml", _unsafe({**job.vars, **self._shipbot_vars(job)}))
        return shlex.join([str(self.playbook.absolute()), "-e", f"@{trusted}", "-e", f"@{data}"])

    def _shipbot_vars(self, job: DeployJob) -> dict[str, str]:
        return {
            "shipbot_service": job.service,
            "shipbot_version": job.version,
            "shipbot_environment": job.environment,
            "shipbot_datacenter": job.datacenter,
            "shipbot_action": job.action,
            "shipbot_request_id": job.request_id,
            "shipbot_workdir": str((self.workdir or Path.cwd()).absolute()),
        }

    def _verdict(self, status: str, rc: int | None, events: _Events) -> None:
        if status == "successful" and events.hosts:
            return
        if status == "successful":  # rc 0, but a deploy that touched nothing is not done
            raise DeployError(f"playbook {self.playbook} matched no hosts in its inventory")
        if status == "timeout":
            raise DeployError(f"playbook {self.playbook} timed out after {self.timeout}s")
        if events.failure is not None:
            raise events.failure
        detail = _trim(" ".join(events.errors[:2])) or f"ansible-playbook exited with {rc}"
        raise DeployError(f"playbook {self.playbook} could not run: {detail}")


class _Events:
    """Runner's event_handler: events in on the worker thread, Progress out on the loop."""

    def __init__(self, datacenter: str, playbook: str) -> None:
        self._datacenter, self._playbook = datacenter, playbook
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Progress | None] = asyncio.Queue()
        self.failure: DeployError | None = None
        self.errors: list[str] = []  # ansible's own error lines, when no task ran
        self.hosts = 0  # hosts the playbook ran on, from the final stats

    def __call__(self, event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        task, host = data.get("task", ""), data.get("host", "")
        match event.get("event"):
            case "playbook_on_start":
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
        progress = Progress(datacenter=self._datacenter, message=message, failed=failed)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            self._loop.call_soon_threadsafe(self._queue.put_nowait, progress)

    def _fail(self, message: str, error: DeployError) -> None:
        self._say(message, failed=True)
        self.failure = self.failure or error

    def _note(self, line: str) -> None:
        if _ERROR_LINE.match(line) or (self.errors and line.startswith("Origin:")):
            self.errors.append(_ERROR_LINE.sub("", line).strip())


class _Unsafe(str):
    """A string ansible must never template: dumped with the ``!unsafe`` tag."""


class _VarsDumper(yaml.SafeDumper):
    """SafeDumper that writes :class:`_Unsafe` strings as ``!unsafe``."""


_VarsDumper.add_representer(_Unsafe, lambda dumper, s: dumper.represent_scalar("!unsafe", s))


def _unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, Mapping):
        return {key: _unsafe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unsafe(item) for item in value]
    return value


def _dump(path: Path, values: Mapping[str, Any]) -> Path:
    path.write_text(yaml.dump(dict(values), Dumper=_VarsDumper), encoding="utf-8")
    return path


def _ansible_playbook() -> Path | None:
    """The ansible-playbook beside this interpreter (a venv need not be on PATH), else PATH's."""
    beside = Path(sys.executable).with_name("ansible-playbook")
    if beside.is_file():
        return beside
    found = shutil.which("ansible-playbook")
    return Path(found) if found else None


def _reason(data: Mapping[str, Any]) -> str:
    res = data.get("res") or {}
    text = str(res.get("msg") or res.get("censored") or "no message")
    if res.get("stderr"):  # command/shell: msg is just "non-zero return code"
        text = f"{text}: {res['stderr']}"
    return _trim(text.removeprefix("Task failed: "))


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
