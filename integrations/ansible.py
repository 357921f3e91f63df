"""Ansible deployer: one ``ansible-playbook`` run per DeployJob, through ansible-runner.

Upstream: ansible-runner's Python interface, ``ansible_runner.run`` and its job events
(https://ansible.readthedocs.io/projects/runner/en/stable/python_interface/).

Each run gets a fresh private data directory, deleted afterwards, holding the extra-vars
files (never on a command line), ansible's temp dirs and runner's artifacts. Job values
(``shipbot_*``, ``job.vars``) are tagged ``!unsafe`` so ansible never templates them: a
version typed as ``{{ lookup('pipe', 'id') }}`` stays text. Catalog ``vars`` may be templates.
Runner's job events become progress in integrations/ansible_events.py.

A run stopped (asyncio cancellation) or still running after ``timeout_seconds`` is ended the
way ansible means it to be: SIGTERM to ansible-playbook, which passes it on to its workers
(each in a session of its own, so a kill of ansible-playbook's process group would leave them
and their tasks running); only if it lingers does runner kill its process group. shipbot waits
up to 15 seconds for the run to end, then goes on, logging that the playbook may still run.
A run out of time is DeployFailed: the playbook may have changed the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import yaml
from ansible_runner.exceptions import AnsibleRunnerException

from bot.ports.deployer import DeployError, DeployFailed, DeployJob, ProgressSink
from integrations.ansible_events import Events, trim

log = logging.getLogger(__name__)
_LOCALHOST = (
    f"localhost ansible_connection=local ansible_python_interpreter={shlex.quote(sys.executable)}"
)
_STOP_WAIT = 15  # seconds a stopped run waits for ansible-playbook to end
_TERM_GRACE = 5  # seconds ansible-playbook has to end on SIGTERM before runner kills it


@dataclass(frozen=True)
class AnsibleDeployer:
    """Runs ``playbook`` for each job against ``inventory`` (default: this machine)."""

    playbook: Path
    inventory: Path | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    workdir: Path | None = None  # shipbot_workdir; the process cwd when None
    timeout_seconds: int = field(kw_only=True)  # from the catalog, which has the defaults

    def __post_init__(self) -> None:
        if self.timeout_seconds < 1:
            raise ValueError("timeout_seconds must be at least 1")

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Run the playbook for ``job``; raise DeployError (or a subclass) unless it succeeds."""
        binary = self._preflight()
        events = Events(job.datacenter, self.playbook.name)
        relay = asyncio.create_task(events.relay(report))
        stop = _Stop(events)
        execution = asyncio.ensure_future(
            asyncio.to_thread(self._execute, job, binary, events, stop)
        )
        execution.add_done_callback(_read)
        try:
            status, rc = await self._outcome(execution, stop)
        finally:
            events.close()
        await relay
        self._verdict(status, rc, events)

    async def _outcome(
        self, execution: asyncio.Future[tuple[str, int | None]], stop: _Stop
    ) -> tuple[str, int | None]:
        """Runner's status and rc, or ("timeout", None) once ``timeout_seconds`` have passed.
        Stopped or out of time, wait for ansible-playbook to end: nothing runs on after us."""
        deadline = asyncio.timeout(self.timeout_seconds)
        try:
            async with deadline:
                return await asyncio.shield(execution)
        except (asyncio.CancelledError, TimeoutError):
            stop.set()
            await self._ended(execution)
            if not deadline.expired():
                raise
        return "timeout", None

    async def _ended(self, execution: asyncio.Future[tuple[str, int | None]]) -> None:
        """Wait up to ``_STOP_WAIT`` for a stopped run to end; say so if it has not."""
        await asyncio.wait([execution], timeout=_STOP_WAIT)
        if not execution.done():  # runner's thread, and so maybe the playbook, runs on
            log.warning(
                "playbook %s did not end within %ss of being stopped; it may still be running",
                self.playbook,
                _STOP_WAIT,
            )

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
        self, job: DeployJob, binary: Path, events: Events, stop: Callable[[], bool]
    ) -> tuple[str, int | None]:
        """Worker thread: one ansible-runner run in a private dir deleted afterwards."""
        with tempfile.TemporaryDirectory(prefix="shipbot-ansible-") as tmp:
            private = Path(tmp)
            try:
                runner = ansible_runner.run(
                    **self._runner_kwargs(job, binary, private),
                    event_handler=events,
                    cancel_callback=stop,
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
        commit = {"shipbot_commit": job.commit} if job.commit else {}
        return {
            "shipbot_service": job.service,
            "shipbot_version": job.version,
            "shipbot_environment": job.environment,
            "shipbot_datacenter": job.datacenter,
            "shipbot_action": job.action,
            "shipbot_request_id": job.request_id,
            "shipbot_workdir": str((self.workdir or Path.cwd()).absolute()),
            **commit,
        }

    def _verdict(self, status: str, rc: int | None, events: Events) -> None:
        if status == "successful" and events.hosts:
            return
        if status == "successful":  # rc 0, but a deploy that touched nothing is not done
            raise DeployError(f"playbook {self.playbook} matched no hosts in its inventory")
        if status == "timeout":
            raise DeployFailed(
                f"playbook {self.playbook} did not finish within {self.timeout_seconds}s, so "
                f"shipbot stopped it (last: {events.last or 'no news'})"
            )
        if events.failure is not None:
            raise events.failure
        detail = trim(" ".join(events.errors[:2])) or f"ansible-playbook exited with {rc}"
        raise DeployError(f"playbook {self.playbook} could not run: {detail}")


class _Stop:
    """Runner's cancel_callback, polled on its thread about every second. Once set, it sends
    ansible-playbook SIGTERM, and answers True (kill its process group) after a grace period,
    or at once if the playbook has not started (no workers yet)."""

    def __init__(self, events: Events) -> None:
        self._events, self._asked = events, threading.Event()
        self._since: float | None = None  # when SIGTERM was sent

    def set(self) -> None:
        self._asked.set()

    def __call__(self) -> bool:
        if not self._asked.is_set():
            return False
        pid = self._events.pid
        if self._since is None and pid is not None:
            self._since = time.monotonic()
            with contextlib.suppress(ProcessLookupError):  # it has just ended by itself
                os.kill(pid, signal.SIGTERM)
        return self._since is None or time.monotonic() - self._since > _TERM_GRACE


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


def _read(execution: asyncio.Future[tuple[str, int | None]]) -> None:
    """Read how the runner's thread ended, so that a run stopped before it ended never leaves
    an exception unread (asyncio would log it, traceback and all, when the future is dropped);
    whoever awaits the run still gets it."""
    if not execution.cancelled() and execution.exception() is not None:
        log.debug("playbook run ended with %s", type(execution.exception()).__name__)
