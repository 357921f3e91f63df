"""The Deployer protocol: what the domain asks of every delivery tool, and the errors it gets back.

The domain (bot/) imports only this module from integrations/. Each deployer turns its
transport's failures into :class:`DeployError` subclasses whose message a person can act on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


class DeployError(Exception):
    """A deploy could not be done, and the target was not changed (refused before anything
    was started). ``str(error)`` is safe to show to a user."""


class DeployFailed(DeployError):
    """The tool ran and failed, or shipbot lost track of it after starting it (a task, a job,
    a rollout): the target may have changed, so the domain rolls it back."""


class DeployUnreachable(DeployError):
    """The tool could not be reached or refused our credentials before anything started."""


JobAction = Literal["deploy", "rollback"]


@dataclass(frozen=True)
class DeployJob:
    """Exactly one unit of work: one service, one version, one data centre."""

    request_id: str
    service: str
    version: str
    environment: str
    datacenter: str  # "" when the environment lists no data centres
    action: JobAction = "deploy"
    vars: Mapping[str, Any] = field(default_factory=dict)
    commit: str = ""  # the SHA approved for ``version`` (its tag may move); "" when not known


@dataclass(frozen=True)
class Progress:
    """One progress event, the same shape for every deployer."""

    datacenter: str
    message: str  # e.g. "TASK [copy site] ok on localhost"
    failed: bool = False
    link: str = ""  # where a person can watch this run (a pipeline, an Application), if any


ProgressSink = Callable[[Progress], Awaitable[None]]

Wake = Callable[[str, float], Awaitable[object]]
"""``await wake(topic, seconds)`` returns when news on ``topic`` arrives (a webhook said
something changed) or after ``seconds``, whichever is first. Deployers that poll use it to
poll at once when told, and to back off when not."""


class ToolDeployment(Protocol):
    """What a tool (GitLab) says about a deployment it ran, perhaps without shipbot."""

    @property
    def project_id(self) -> int: ...
    @property
    def project_path(self) -> str: ...
    @property
    def environment(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def ref(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def finished_at(self) -> float | None: ...
    @property
    def by_shipbot(self) -> bool: ...


Lookup = Callable[[int, int], Awaitable[ToolDeployment]]  # (project id, deployment id)


def pipeline_topic(project_id: int, pipeline_id: int) -> str:
    """The Wake topic for news about one GitLab pipeline (webhooks publish, gitlab waits)."""
    return f"gitlab-pipeline:{project_id}:{pipeline_id}"


class Deployer(Protocol):
    """Runs one DeployJob to the end, reporting progress; raises DeployError on failure."""

    async def run(self, job: DeployJob, report: ProgressSink) -> None: ...
