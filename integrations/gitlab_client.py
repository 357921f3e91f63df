"""python-gitlab from asyncio: each call is one or two HTTP requests in a thread, and every
failure comes back as a DeployError whose message names GitLab's URL, never the token. A look
at a pipeline comes back as a PipelineState, which can say itself in a line.

Upstream: python-gitlab (https://python-gitlab.readthedocs.io/en/stable/api-objects.html) over
GitLab's REST API v4: Projects (https://docs.gitlab.com/api/projects/), Pipelines
(https://docs.gitlab.com/api/pipelines/), Jobs (https://docs.gitlab.com/api/jobs/) and
Deployments (https://docs.gitlab.com/api/deployments/).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabCreateError, GitlabError
from gitlab.v4.objects import Project

from bot.ports.deployer import DeployError, DeployUnreachable
from integrations.urls import without_credentials

T = TypeVar("T")

_HTTP_TIMEOUT = 10.0  # seconds for one request, so a thread never hangs on a silent GitLab
_PER_PAGE = 100  # GitLab's maximum page size
_MAX_REASON = 200
_SHOWN_JOBS = 3
_ENDED = frozenset({"success", "failed", "canceled", "skipped"})  # of a job or a pipeline


@dataclass(frozen=True)
class JobState:
    id: int
    name: str
    stage: str
    status: str
    allow_failure: bool = False


@dataclass(frozen=True)
class PipelineState:
    """One look at a pipeline and its jobs (oldest job first)."""

    project_id: int
    id: int
    status: str
    web_url: str
    jobs: tuple[JobState, ...] = ()

    @property
    def ended(self) -> bool:
        return self.status in _ENDED

    def summary(self) -> str:
        """``pipeline #123 running — stage deploy: job deploy-prod running``."""
        head = f"pipeline #{self.id} {self.status}"
        current = [job for job in self.jobs if job.status not in _ENDED] or self._failed()
        if not current:
            return head
        stage = current[0].stage
        jobs = [f"job {job.name} {job.status}" for job in current if job.stage == stage]
        more = f" and {len(jobs) - _SHOWN_JOBS} more" if len(jobs) > _SHOWN_JOBS else ""
        return f"{head} — stage {stage}: {', '.join(jobs[:_SHOWN_JOBS])}{more}"

    def failures(self) -> str:
        """Which jobs failed, in which stages (allowed failures aside)."""
        if not (failed := self._failed()):
            return "no job failed, so look at the pipeline in GitLab (a configuration error?)"
        return "; ".join(f"job {job.name} failed in stage {job.stage}" for job in failed)

    def _failed(self) -> list[JobState]:
        return [job for job in self.jobs if job.status == "failed" and not job.allow_failure]


class GitLabClient:
    """The calls shipbot makes, on one python-gitlab session; ``close()`` when done."""

    def __init__(self, url: str, token: str) -> None:
        self.where = without_credentials(url).rstrip("/")
        self._gl = gitlab.Gitlab(url, private_token=token, timeout=_HTTP_TIMEOUT)

    def close(self) -> None:
        self._gl.session.close()

    async def project(self, project: str | int) -> Project:
        missing = f"project {project} not found on {self.where} (or the token cannot see it)"
        return await self._call(lambda: self._gl.projects.get(project), missing)

    async def create_pipeline(
        self, project: Project, ref: str, variables: Mapping[str, str]
    ) -> PipelineState:
        def create() -> PipelineState:
            data = {"ref": ref, "variables": [_variable(k, v) for k, v in variables.items()]}
            try:
                return _state(project.pipelines.create(data), [])
            except GitlabCreateError as error:
                if error.response_code != 400:
                    raise
                raise DeployError(
                    f"GitLab cannot run a pipeline of {project.path_with_namespace} "
                    f"for version {ref}: {reason(error)}"
                ) from error

        return await self._call(create, self._missing(project))

    async def pipeline(self, project: Project, pipeline_id: int) -> PipelineState:
        def fetch() -> PipelineState:
            pipeline = project.pipelines.get(pipeline_id)
            return _state(pipeline, pipeline.jobs.list(get_all=True, per_page=_PER_PAGE))

        return await self._call(fetch, self._missing(project, pipeline_id))

    async def play(self, project: Project, job_id: int) -> None:
        missing = f"job {job_id} of {project.path_with_namespace} not found on {self.where}"
        await self._call(lambda: project.jobs.get(job_id, lazy=True).play(), missing)

    async def cancel(self, project: Project, pipeline_id: int) -> None:
        pipeline = project.pipelines.get(pipeline_id, lazy=True)
        await self._call(pipeline.cancel, self._missing(project, pipeline_id))

    async def deployment(self, project: Project, deployment_id: int) -> dict[str, Any]:
        missing = (
            f"deployment {deployment_id} of {project.path_with_namespace} not found on "
            f"{self.where} (or the token cannot see it)"
        )
        found = await self._call(lambda: project.deployments.get(deployment_id), missing)
        return found.attributes

    async def variables(self, project: Project, pipeline_id: int) -> dict[str, str]:
        pipeline = project.pipelines.get(pipeline_id, lazy=True)
        found = await self._call(
            lambda: pipeline.variables.list(get_all=True), self._missing(project, pipeline_id)
        )
        return {variable.key: variable.value for variable in found}

    def _missing(self, project: Project, pipeline_id: int | None = None) -> str:
        if pipeline_id is None:
            return f"project {project.path_with_namespace} is gone from {self.where}"
        what = f"pipeline #{pipeline_id} of {project.path_with_namespace}"
        return f"{what} is gone from {self.where} (or the token cannot see it)"

    async def _call(self, call: Callable[[], T], missing: str) -> T:
        return await asyncio.to_thread(self._translated, call, missing)

    def _translated(self, call: Callable[[], T], missing: str) -> T:
        try:
            return call()
        except requests.RequestException as error:
            raise DeployUnreachable(f"cannot reach GitLab at {self.where}") from error
        except GitlabError as error:
            raise _translate(error, self.where, missing) from error


def _translate(error: GitlabError, where: str, missing: str) -> DeployError:
    code, why = error.response_code, reason(error)
    detail = why if code is None or why.startswith(str(code)) else f"{code} {why}"
    if isinstance(error, GitlabAuthenticationError) or code in (401, 403):
        return DeployUnreachable(f"GitLab at {where} refused the token ({detail})")
    if code == 404:
        return DeployError(missing)
    if code is None:  # no connection, a redirect on POST, or an answer that is not JSON
        return DeployUnreachable(f"cannot reach GitLab at {where} ({detail})")
    if code >= 500:
        return DeployUnreachable(f"GitLab at {where} is failing ({detail})")
    return DeployError(f"GitLab at {where} answered {detail}")


def reason(error: GitlabError) -> str:
    """GitLab's own words: ``{"message": {"base": ["Reference not found"]}}`` → that text."""
    text = "; ".join(_flatten(error.error_message)) or "no reason given"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _flatten(message: Any) -> Iterable[str]:
    if isinstance(message, Mapping):
        for key, value in message.items():
            prefix = "" if key == "base" else f"{key} "
            yield from (prefix + text for text in _flatten(value))
    elif isinstance(message, list | tuple):
        for item in message:
            yield from _flatten(item)
    elif message:
        yield " ".join(str(message).split())


def _variable(key: str, value: str) -> dict[str, str]:
    return {"key": key, "value": value, "variable_type": "env_var"}


def _state(pipeline: Any, jobs: Iterable[Any]) -> PipelineState:
    found = sorted(
        (JobState(j.id, j.name, j.stage, j.status, bool(j.allow_failure)) for j in jobs),
        key=lambda job: job.id,
    )
    web_url = without_credentials(pipeline.web_url)
    return PipelineState(pipeline.project_id, pipeline.id, pipeline.status, web_url, tuple(found))
