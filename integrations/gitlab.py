"""GitLab deployer: one CI/CD pipeline per DeployJob, followed until GitLab says how it ended.

Upstream, through python-gitlab (https://python-gitlab.readthedocs.io/en/stable/), see
integrations/gitlab_client.py:

- Pipelines API (https://docs.gitlab.com/api/pipelines/): create a pipeline on a ref with
  variables, get it, get its variables, cancel it.
- Jobs API (https://docs.gitlab.com/api/jobs/): list a pipeline's jobs, run (play) a manual job.
- Deployments API (https://docs.gitlab.com/api/deployments/): get one deployment
  (:func:`describe_deployment`, for Deployment hooks).

A deploy, or a rollback, is a pipeline on the version (a tag or branch) whose ``SHIPBOT_*``
variables say what to do. The deployer reads the pipeline and its jobs, reports each change of
"pipeline #N status — stage S: job J status", and waits between looks: at once when a webhook
wakes it, otherwise ``poll_seconds`` doubling up to ``max_poll_seconds`` while nothing changes.
It follows the pipeline by the rules of integrations/follow.py, which it shares with Argo CD
and Kubernetes.

How it ends: ``success`` returns; ``failed``, ``canceled`` and ``skipped`` raise DeployFailed.
``play_job`` is played (once) when it reaches ``manual``. A pipeline blocked on any other
manual job would wait forever, so it fails at once. Once the pipeline exists, GitLab may change
the target, so every failure is DeployFailed (GitLab out of reach ``_MISSED_POLLS`` looks in a
row, too: shipbot lost track of it), and every way out but success (blocked, timed out after
``timeout_seconds``, lost track of, stopped by asyncio cancellation, even while GitLab is still
creating it) cancels the pipeline unless it has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitlab.v4.objects import Project

from bot.ports.deployer import DeployFailed, DeployJob, ProgressSink, Wake, pipeline_topic
from integrations.follow import Reporter, Rules, Seen, follow
from integrations.gitlab_client import GitLabClient, JobState, PipelineState

log = logging.getLogger(__name__)

_CANCEL_WAIT = 5.0  # seconds to wait for GitLab to take a cancel when giving up on a pipeline
_MISSED_POLLS = 5  # GitLab may be unreachable this many looks in a row before the deploy fails
_SETTLED = frozenset({"success", "failed", "canceled", "skipped", "manual"})  # manual: blocked
_BAD_END = frozenset({"failed", "canceled", "skipped"})


@dataclass(frozen=True)
class GitLabDeployer:
    """Runs a pipeline of ``project`` for each job and follows it to the end."""

    url: str
    token: str = field(repr=False)
    project: str  # "group/name" or a numeric project ID
    variables: Mapping[str, str] = field(default_factory=dict)
    play_job: str | None = None
    environment: str | None = None  # the GitLab environment; default: the catalog's name
    timeout_seconds: int = field(kw_only=True)  # from the catalog, which has the defaults
    wake: Wake | None = None
    poll_seconds: float = 2.0
    max_poll_seconds: float = 30.0

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Run and follow one pipeline; raise DeployError (or a subclass) unless it succeeds."""
        client = GitLabClient(self.url, self.token)
        try:
            project = await client.project(self.project)
            run = _Pipeline(self, client, project, job, Reporter(job.datacenter, report))
            await follow(run, self._rules(run), run.reporter)
        finally:
            client.close()

    def pipeline_variables(self, job: DeployJob) -> dict[str, str]:
        """The catalog's ``variables``, then the SHIPBOT_* ones, which win; SHIPBOT_COMMIT only
        when the approved commit is known."""
        commit = {"SHIPBOT_COMMIT": job.commit} if job.commit else {}
        return {
            **self.variables,
            "SHIPBOT_SERVICE": job.service,
            "SHIPBOT_VERSION": job.version,
            "SHIPBOT_ENVIRONMENT": job.environment,
            "SHIPBOT_GITLAB_ENVIRONMENT": self.environment or job.environment,
            "SHIPBOT_DATACENTER": job.datacenter,
            "SHIPBOT_REQUEST_ID": job.request_id,
            "SHIPBOT_ACTION": job.action,
            **commit,
        }

    def _rules(self, run: _Pipeline) -> Rules:
        return Rules(
            self.timeout_seconds,
            self.poll_seconds,
            self.max_poll_seconds,
            lost_after=_MISSED_POLLS,
            cancel_seconds=_CANCEL_WAIT,
            wake=run.news if self.wake else None,
        )


@dataclass
class _Pipeline:
    """GitLab's side of following one pipeline (an integrations.follow.Tool)."""

    deployer: GitLabDeployer
    client: GitLabClient
    project: Project
    job: DeployJob
    reporter: Reporter
    latest: PipelineState | None = None  # the pipeline as last seen, once created
    played: bool = False

    async def start(self) -> PipelineState:
        variables = self.deployer.pipeline_variables(self.job)
        pipeline = await self.client.create_pipeline(self.project, self.job.version, variables)
        self.latest, self.reporter.link = pipeline, pipeline.web_url
        return pipeline

    async def read(self, started: PipelineState) -> Seen:
        """Report a change of stage or job; play ``play_job`` once; judge a settled pipeline."""
        pipeline = self.latest = await self.client.pipeline(self.project, started.id)
        await self.reporter.say(pipeline.summary(), failed=pipeline.status in _BAD_END)
        if not self.played and (manual := self._to_play(pipeline)):
            await self._play(pipeline, manual)
            return await self.read(started)  # look again at once
        if pipeline.status not in _SETTLED:
            return Seen.RUNNING
        return self._verdict(pipeline)

    async def cancel(self, started: PipelineState | None) -> None:
        """Nothing to do for a pipeline seen to have ended, or never known to be made."""
        if self.latest is None:
            log.warning("GitLab did not answer the pipeline's creation in time; it may run on")
        elif not self.latest.ended:
            await self.client.cancel(self.project, self.latest.id)

    def lost(self, started: PipelineState) -> str:
        return f"pipeline #{started.id} was started; shipbot lost track of it: {started.web_url}"

    def overdue(self, started: PipelineState | None, last: str) -> str:
        within = f"within {self.deployer.timeout_seconds}s"
        if started is None:
            return f"GitLab did not create the pipeline {within}"
        number, link = f"pipeline #{started.id}", started.web_url
        return f"{number} did not finish {within}, so shipbot canceled it ({link})"

    async def news(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a webhook brings news of the pipeline."""
        if self.deployer.wake is None or self.latest is None:
            await asyncio.sleep(seconds)
            return
        await self.deployer.wake(pipeline_topic(self.latest.project_id, self.latest.id), seconds)

    def _to_play(self, pipeline: PipelineState) -> JobState | None:
        waiting = [job for job in pipeline.jobs if job.status == "manual"]
        return next((job for job in waiting if job.name == self.deployer.play_job), None)

    async def _play(self, pipeline: PipelineState, job: JobState) -> None:
        await self.client.play(self.project, job.id)
        self.played = True
        message = f"pipeline #{pipeline.id}: started manual job {job.name}"
        await self.reporter.say(message, topic="play")

    def _verdict(self, pipeline: PipelineState) -> Seen:
        number, link = f"pipeline #{pipeline.id}", pipeline.web_url
        match pipeline.status:
            case "success":
                return Seen.DONE
            case "failed":
                raise DeployFailed(f"{number} failed: {pipeline.failures()} ({link})")
            case "manual":  # follow cancels it
                raise DeployFailed(f"{number} {self._blocked(pipeline)} ({link})")
        raise DeployFailed(f"{number} was {pipeline.status} in GitLab ({link})")

    def _blocked(self, pipeline: PipelineState) -> str:
        names = ", ".join(job.name for job in pipeline.jobs if job.status == "manual")
        play_job = self.deployer.play_job
        advice = (
            f"only {play_job} (play_job) is started by shipbot"
            if play_job
            else "set play_job in the gitlab options to have shipbot start it"
        )
        return f"waits for manual job {names} in GitLab; {advice}, so shipbot canceled it"


@dataclass(frozen=True)
class GitLabDeployment:
    """What GitLab says about one deployment (bot.ports.deployer.ToolDeployment)."""

    project_id: int
    project_path: str
    deployment_id: int
    environment: str
    status: str
    ref: str
    sha: str
    user: str  # username
    finished_at: float | None  # epoch seconds, once the deployment ended
    pipeline_id: int | None  # of the job that deployed; None for one made through the API
    by_shipbot: bool  # that pipeline carried SHIPBOT_REQUEST_ID


async def describe_deployment(
    url: str, token: str, project_id: int, deployment_id: int
) -> GitLabDeployment:
    """Ask GitLab about one deployment and whether a shipbot pipeline ran it."""
    client = GitLabClient(url, token)
    try:
        project = await client.project(project_id)
        deployment = await client.deployment(project, deployment_id)
        pipeline_id = _pipeline_id(deployment)
        variables = await client.variables(project, pipeline_id) if pipeline_id else {}
    finally:
        client.close()
    return GitLabDeployment(
        project_id=project.id,
        project_path=project.path_with_namespace,
        deployment_id=deployment["id"],
        environment=(deployment.get("environment") or {}).get("name", ""),
        status=deployment["status"],
        ref=deployment["ref"],
        sha=deployment["sha"],
        user=(deployment.get("user") or {}).get("username", ""),
        finished_at=_finished_at(deployment),
        pipeline_id=pipeline_id,
        by_shipbot="SHIPBOT_REQUEST_ID" in variables,
    )


def _pipeline_id(deployment: Mapping[str, Any]) -> int | None:
    pipeline = (deployment.get("deployable") or {}).get("pipeline") or {}
    return pipeline.get("id")


def _finished_at(deployment: Mapping[str, Any]) -> float | None:
    """When the deploying job finished; for a deployment without one, its last update."""
    if deployment["status"] not in ("success", "failed", "canceled"):
        return None
    job = deployment.get("deployable") or {}
    stamp = job.get("finished_at") or deployment.get("updated_at")
    return datetime.fromisoformat(stamp).timestamp() if stamp else None
