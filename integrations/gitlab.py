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
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitlab.v4.objects import Project

from bot.ports.deployer import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    Progress,
    ProgressSink,
    Wake,
    pipeline_topic,
)
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
    timeout_seconds: int = 3600
    wake: Wake | None = None
    poll_seconds: float = 2.0
    max_poll_seconds: float = 30.0

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Run and follow one pipeline; raise DeployError (or a subclass) unless it succeeds."""
        client = GitLabClient(self.url, self.token)
        try:
            project = await client.project(self.project)
            run = _Run(client, project, job.datacenter, report)
            pipeline = await run.create(job.version, self.pipeline_variables(job))
            await self._see_through(run, pipeline)
        finally:
            client.close()

    def pipeline_variables(self, job: DeployJob) -> dict[str, str]:
        """The catalog's ``variables``, then the SHIPBOT_* ones, which win."""
        return {
            **self.variables,
            "SHIPBOT_SERVICE": job.service,
            "SHIPBOT_VERSION": job.version,
            "SHIPBOT_ENVIRONMENT": job.environment,
            "SHIPBOT_GITLAB_ENVIRONMENT": self.environment or job.environment,
            "SHIPBOT_DATACENTER": job.datacenter,
            "SHIPBOT_REQUEST_ID": job.request_id,
            "SHIPBOT_ACTION": job.action,
        }

    async def _see_through(self, run: _Run, pipeline: PipelineState) -> None:
        """Follow the pipeline; on any way out but success, cancel it (unless it has ended),
        and fail as DeployFailed: once it exists, GitLab may have changed the target."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._follow(run, pipeline)
        except BaseException as error:  # stopped (asyncio cancellation) included
            await run.cancel()
            number, link = f"pipeline #{pipeline.id}", pipeline.web_url
            if isinstance(error, TimeoutError):
                raise DeployFailed(
                    f"{number} did not finish within {self.timeout_seconds}s, "
                    f"so shipbot canceled it ({link})"
                ) from None
            if isinstance(error, DeployError) and not isinstance(error, DeployFailed):
                lost = f"{number} was started; shipbot lost track of it: {link}"
                raise DeployFailed(f"{error} ({lost})") from error
            raise

    async def _follow(self, run: _Run, pipeline: PipelineState) -> None:
        delay, shown, played, missed = self.poll_seconds, "", False, 0
        while True:
            try:
                pipeline = run.latest = await run.client.pipeline(run.project, pipeline.id)
                missed = 0
            except DeployUnreachable as error:
                missed += 1
                if missed >= _MISSED_POLLS:
                    raise
                log.warning("pipeline #%s: %s; looking again", pipeline.id, error)
            else:
                if (summary := pipeline.summary()) != shown:
                    shown, delay = summary, self.poll_seconds
                    failed = pipeline.status in _BAD_END
                    await run.say(Progress(run.datacenter, summary, failed, pipeline.web_url))
                if not played and (manual := self._to_play(pipeline)):
                    await run.play(pipeline, manual)
                    played, delay = True, self.poll_seconds
                    continue
                if pipeline.status in _SETTLED:
                    await self._verdict(run, pipeline)
                    return
            woke = await self._wait(pipeline, delay)
            delay = self.poll_seconds if woke else min(delay * 2, self.max_poll_seconds)

    def _to_play(self, pipeline: PipelineState) -> JobState | None:
        waiting = [job for job in pipeline.jobs if job.status == "manual"]
        return next((job for job in waiting if job.name == self.play_job), None)

    async def _verdict(self, run: _Run, pipeline: PipelineState) -> None:
        number, link = f"pipeline #{pipeline.id}", pipeline.web_url
        match pipeline.status:
            case "success":
                return
            case "failed":
                raise DeployFailed(f"{number} failed: {pipeline.failures()} ({link})")
            case "manual":  # _see_through cancels it
                raise DeployFailed(f"{number} {self._blocked(pipeline)} ({link})")
        raise DeployFailed(f"{number} was {pipeline.status} in GitLab ({link})")

    def _blocked(self, pipeline: PipelineState) -> str:
        names = ", ".join(job.name for job in pipeline.jobs if job.status == "manual")
        advice = (
            f"only {self.play_job} (play_job) is started by shipbot"
            if self.play_job
            else "set play_job in the gitlab options to have shipbot start it"
        )
        return f"waits for manual job {names} in GitLab; {advice}, so shipbot canceled it"

    async def _wait(self, pipeline: PipelineState, delay: float) -> bool:
        """Wait ``delay`` seconds, or less if a webhook brings news; True when it did."""
        if self.wake is None:
            await asyncio.sleep(delay)
            return False
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.wake(pipeline_topic(pipeline.project_id, pipeline.id), delay)
        return loop.time() - started < delay * 0.9


@dataclass
class _Run:
    """What one deploy talks to (GitLab, the project, the progress sink), and its pipeline."""

    client: GitLabClient
    project: Project
    datacenter: str
    report: ProgressSink
    latest: PipelineState | None = None  # the pipeline as last seen, once created

    async def create(self, ref: str, variables: Mapping[str, str]) -> PipelineState:
        """Create the pipeline. Stopped meanwhile, wait briefly for GitLab to answer, and cancel
        what it made: the POST goes on in its thread whether or not anyone waits for it."""
        creating = asyncio.ensure_future(self.client.create_pipeline(self.project, ref, variables))
        creating.add_done_callback(_retrieved)
        try:
            self.latest = await asyncio.shield(creating)
        except asyncio.CancelledError:
            await self._cancel_once_made(creating)
            raise
        return self.latest

    async def say(self, progress: Progress) -> None:
        try:
            await self.report(progress)
        except Exception:  # a failing sink must not fail the deploy
            log.exception("progress report failed: %s", progress.message)

    async def play(self, pipeline: PipelineState, job: JobState) -> None:
        await self.client.play(self.project, job.id)
        message = f"pipeline #{pipeline.id}: started manual job {job.name}"
        await self.say(Progress(self.datacenter, message, link=pipeline.web_url))

    async def cancel(self) -> None:
        """Best effort, and bounded: a stopped deploy does not wait long on GitLab. Nothing to
        do for a pipeline not made, or seen to have ended."""
        pipeline = self.latest
        if pipeline is None or pipeline.ended:
            return
        task = asyncio.ensure_future(_logged(self.client.cancel(self.project, pipeline.id)))
        try:
            await asyncio.wait_for(asyncio.shield(task), _CANCEL_WAIT)
        except TimeoutError:
            log.warning("pipeline #%s: GitLab did not take the cancel in time", pipeline.id)

    async def _cancel_once_made(self, creating: asyncio.Future[PipelineState]) -> None:
        await asyncio.wait({creating}, timeout=_CANCEL_WAIT)
        if not creating.done():
            log.warning("GitLab did not answer the pipeline's creation in time; it may run on")
        elif not creating.cancelled() and creating.exception() is None:
            self.latest = creating.result()
            await self.cancel()


def _retrieved(task: asyncio.Future[PipelineState]) -> None:
    """Mark a creation's failure as seen: a stopped deploy may never await it."""
    if not task.cancelled():
        task.exception()


async def _logged(cancel: Awaitable[None]) -> None:
    try:
        await cancel
    except DeployError as error:
        log.warning("could not cancel a pipeline: %s", error)


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
