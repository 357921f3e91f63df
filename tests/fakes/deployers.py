"""In-process stand-ins for a deployer and the health check, for unit tests of a deploy run:
they record what they were asked, and fail, crash or hang where the test says."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.ports.deployer import (
    Deployer,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    Progress,
    ProgressSink,
)

Behaviour = Literal["ok", "fail", "refuse", "crash", "hang"]


@dataclass
class RecordingDeployer:
    """One deployer for every target. Records each job as "deploy dc-a v2" and does what
    ``plan`` says for "deploy dc-a" (or "rollback dc-a"): ok by default; "fail" raises
    DeployFailed (the tool ran), "refuse" DeployUnreachable (nothing started), "crash" a
    RuntimeError, "hang" waits until cancelled. ``hooks`` run as such a job starts."""

    plan: dict[str, Behaviour] = field(default_factory=dict)
    hooks: dict[str, Callable[[], Awaitable[object]]] = field(default_factory=dict)
    link: str = ""  # reported with each job's first progress line
    jobs: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)  # each job's commit, as jobs
    cancelled: list[str] = field(default_factory=list)
    _started: defaultdict[str, asyncio.Event] = field(
        default_factory=lambda: defaultdict(asyncio.Event)
    )

    def __call__(self, service: str, environment: str, datacenter: str) -> Deployer:
        """As ``Services.deployer_for``."""
        return self

    async def started(self, name: str) -> None:
        """Return once the job ``name`` ("deploy dc-a") has started."""
        await self._started[name].wait()

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        name = f"{job.action} {job.datacenter}"
        self.jobs.append(f"{name} {job.version}")
        self.commits.append(job.commit)
        await report(Progress(job.datacenter, f"{name} started", link=self.link))
        self._started[name].set()
        if hook := self.hooks.get(name):
            await hook()
        await self._behave(name, self.plan.get(name, "ok"))

    async def _behave(self, name: str, behaviour: Behaviour) -> None:
        match behaviour:
            case "fail":
                raise DeployFailed(f"task 'check capacity' failed in {name.split()[-1]}")
            case "refuse":
                raise DeployUnreachable("the tool could not be reached")
            case "crash":
                raise RuntimeError(f"bug in the deployer during {name}")
            case "hang":
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    self.cancelled.append(name)
                    raise


@dataclass
class ScriptedHealth:
    """The health check (a ``HealthProbe``): data centres in ``sick`` fail it with that reason."""

    sick: dict[str, str] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)

    async def __call__(
        self,
        url: str,
        *,
        datacenter: str,
        report: ProgressSink,
        timeout: float,
        successes: int,
        interval: float,
        max_attempts: int,
    ) -> None:
        self.checked.append(datacenter)
        if datacenter in self.sick:
            raise DeployFailed(self.sick[datacenter])
