"""FakeGitLab's world: projects, pipelines, jobs and deployments, and how pipelines progress.

Every pipeline follows ``plan``, (stage, job) pairs in order; its last job deploys to the
environment SHIPBOT_GITLAB_ENVIRONMENT (else SHIPBOT_ENVIRONMENT, else "production") and so
makes a deployment. A step moves each job of the current stage on: created → pending → running
→ success (or failed, when told to); a manual job waits in ``manual`` until played. A pipeline's
status follows its jobs' (https://docs.gitlab.com/ci/jobs/#available-job-statuses). State is
guarded by one lock; each change calls a hook method (no-ops here) that FakeGitLab overrides to
send GitLab's webhooks.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .gitlab_repo import RepositoryState

API_USER = "shipbot"  # the token's user: pipelines created through the API are theirs
DONE = frozenset({"success", "failed", "canceled", "skipped"})
_HOOKED_DEPLOYMENT = frozenset({"running", "success", "failed", "canceled"})
_FIRST_IDS = {"project": 1, "pipeline": 1001, "job": 5001, "deployment": 41}


@dataclass
class FakeProject:
    id: int
    path: str
    refs: dict[str, str]  # name → sha


@dataclass
class FakeJob:
    id: int
    name: str
    stage: str
    manual: bool = False
    fails: bool = False
    status: str = "created"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None


@dataclass
class FakeDeployment:
    id: int
    project: FakeProject
    environment: str
    ref: str
    sha: str
    user: str
    status: str = "created"
    job: FakeJob | None = None
    pipeline: FakePipeline | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)


@dataclass
class FakePipeline:
    id: int
    project: FakeProject
    ref: str
    sha: str
    variables: dict[str, str]
    jobs: list[FakeJob]
    user: str = API_USER
    status: str = "created"
    canceled: bool = False  # a cancel arrived (POST .../cancel, or cancel_in_gitlab)
    deployment: FakeDeployment | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    coverage: float | None = None  # percent, as its jobs reported it


class GitLabState(RepositoryState):
    """The projects, pipelines, deployments and repositories (see gitlab_repo), and the test
    controls that shape them."""

    def __init__(self, plan: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self.plan = list(plan)
        self.projects: dict[int, FakeProject] = {}
        self.pipelines: list[FakePipeline] = []
        self.deployments: dict[int, FakeDeployment] = {}
        self._failing: list[tuple[str | None, dict[str, str]]] = []
        self._manual: set[str] = set()
        self._hang: str | None = None
        self._ids = {kind: itertools.count(start) for kind, start in _FIRST_IDS.items()}
        self._lock = threading.RLock()

    # Test controls

    def reset(self) -> None:
        """No projects, pipelines, deployments or rules; ids keep counting, so an id a test
        saw is never reused."""
        with self._lock:
            self.projects.clear()
            self.pipelines.clear()
            self.deployments.clear()
            self._reset_repositories()
            self._failing.clear()
            self._manual.clear()
            self._hang = None

    def add_project(self, path: str, refs: Iterable[str] = ("main",)) -> int:
        """A project the token can see, with these branches or tags; returns its id."""
        with self._lock:
            project_id = next(self._ids["project"])
            shas = {ref: _sha(f"{path}@{ref}") for ref in refs}
            self.projects[project_id] = FakeProject(project_id, path, shas)
            return project_id

    def fail_when(self, job: str | None = None, **shipbot: str) -> None:
        """Pipelines created from now on whose SHIPBOT_<KEY> variables match ``shipbot``
        (``datacenter="dc-b"`` → SHIPBOT_DATACENTER) fail in ``job`` (default: the last)."""
        variables = {f"SHIPBOT_{key.upper()}": value for key, value in shipbot.items()}
        with self._lock:
            self._failing.append((job, variables))

    def make_manual(self, job: str) -> None:
        """Jobs named ``job`` in pipelines created from now on are manual (blocking)."""
        with self._lock:
            self._manual.add(job)

    def hang(self, job: str | None = None) -> None:
        """Running jobs named ``job`` (any, when None) stay running until release()."""
        with self._lock:
            self._hang = job or "*"

    def release(self) -> None:
        with self._lock:
            self._hang = None

    def cancel_in_gitlab(self, pipeline_id: int) -> None:
        """Someone pressed Cancel in GitLab's UI."""
        with self._lock:
            self._cancel(self._pipeline(pipeline_id))

    def pipeline(self, pipeline_id: int) -> FakePipeline:
        with self._lock:
            return self._pipeline(pipeline_id)

    def _pipeline(self, pipeline_id: int) -> FakePipeline:
        return next(p for p in self.pipelines if p.id == pipeline_id)

    def add_deployment(
        self,
        project_id: int,
        environment: str,
        ref: str,
        sha: str | None = None,
        user: str = "root",
        pipeline_variables: Mapping[str, str] | None = None,
        status: str = "success",
    ) -> int:
        """A deployment done outside shipbot's view; returns its id. With ``pipeline_variables``
        a finished pipeline (with those variables) ran it; without, it was made via the API."""
        with self._lock:
            project = self.projects[project_id]
            sha = sha or project.refs.get(ref) or _sha(f"{project.path}@{ref}")
            if pipeline_variables is None:
                deployment = self._new_deployment(project, environment, ref, sha, user)
            else:
                variables = {"SHIPBOT_GITLAB_ENVIRONMENT": environment, **pipeline_variables}
                deployment = self._finished_pipeline(project, ref, sha, variables, user)
                deployment.environment = environment
            deployment.status, deployment.updated_at = status, time.time()
            return deployment.id

    # Making pipelines and deployments

    def _new_pipeline(
        self, project: FakeProject, ref: str, sha: str, variables: dict[str, str], user: str
    ) -> FakePipeline:
        failing = self._failing_job(variables)
        jobs = [
            FakeJob(next(self._ids["job"]), name, stage, name in self._manual, name == failing)
            for stage, name in self.plan
        ]
        pipeline = FakePipeline(next(self._ids["pipeline"]), project, ref, sha, variables, jobs)
        pipeline.user = user
        if jobs:
            environment = (
                variables.get("SHIPBOT_GITLAB_ENVIRONMENT")
                or variables.get("SHIPBOT_ENVIRONMENT")
                or "production"
            )
            deployment = self._new_deployment(project, environment, ref, sha, user)
            deployment.job, deployment.pipeline = jobs[-1], pipeline
            pipeline.deployment = deployment
        self.pipelines.append(pipeline)
        return pipeline

    def _finished_pipeline(
        self, project: FakeProject, ref: str, sha: str, variables: dict[str, str], user: str
    ) -> FakeDeployment:
        """A pipeline that already succeeded, without hooks; returns its deployment."""
        pipeline = self._new_pipeline(project, ref, sha, variables, user)
        pipeline.status = "success"
        for job in pipeline.jobs:
            job.status, job.started_at = "success", time.time()
            job.finished_at = job.started_at
        assert pipeline.deployment is not None  # the plan has a last job
        return pipeline.deployment

    def _new_deployment(
        self, project: FakeProject, environment: str, ref: str, sha: str, user: str
    ) -> FakeDeployment:
        deployment_id = next(self._ids["deployment"])
        deployment = FakeDeployment(deployment_id, project, environment, ref, sha, user)
        self.deployments[deployment_id] = deployment
        return deployment

    def _failing_job(self, variables: Mapping[str, str]) -> str | None:
        for job, wanted in self._failing:
            if all(variables.get(key) == value for key, value in wanted.items()):
                return job or (self.plan[-1][1] if self.plan else None)
        return None

    # Progress

    def _step_all(self) -> None:
        with self._lock:
            for pipeline in self.pipelines:
                self._step(pipeline)

    def _step(self, pipeline: FakePipeline) -> None:
        if pipeline.status in DONE:
            return
        stage = next(
            (job.stage for job in pipeline.jobs if job.status not in ("success", "skipped")), None
        )
        for job in [job for job in pipeline.jobs if job.stage == stage]:
            if job.status == "created":
                self._set(pipeline, job, "manual" if job.manual else "pending")
            elif job.status == "pending":
                self._set(pipeline, job, "running")
            elif job.status == "running" and self._hang not in ("*", job.name):
                self._set(pipeline, job, "failed" if job.fails else "success")
        if any(job.status == "failed" for job in pipeline.jobs):
            for job in pipeline.jobs:
                if job.status == "created":
                    self._set(pipeline, job, "skipped")
        self._settle(pipeline)

    def _play(self, pipeline: FakePipeline, job: FakeJob) -> None:
        self._set(pipeline, job, "pending")
        self._settle(pipeline)

    def _cancel(self, pipeline: FakePipeline) -> None:
        if pipeline.status in DONE:
            return  # GitLab answers 200 all the same
        pipeline.canceled = True
        for job in pipeline.jobs:
            if job.status not in DONE:
                self._set(pipeline, job, "canceled")
        self._settle(pipeline)

    def _set(self, pipeline: FakePipeline, job: FakeJob, status: str) -> None:
        now = time.time()
        job.status, pipeline.updated_at = status, now
        if status == "running":
            job.started_at = now
        if status in DONE:
            job.finished_at = now
        self._job_changed(pipeline, job)
        deployment = pipeline.deployment
        if deployment is not None and deployment.job is job:
            deployment.status = "created" if status in ("pending", "manual") else status
            deployment.updated_at = now
            if status in _HOOKED_DEPLOYMENT:
                self._deployment_changed(deployment)

    def _settle(self, pipeline: FakePipeline) -> None:
        status = derived_status(pipeline)
        if status == pipeline.status:
            return
        now = time.time()
        pipeline.status, pipeline.updated_at = status, now
        if status == "running" and pipeline.started_at is None:
            pipeline.started_at = now
        if status in DONE:
            pipeline.finished_at = now
        self._pipeline_changed(pipeline)

    # What GitLab would send a webhook about (FakeGitLab does)

    def _job_changed(self, pipeline: FakePipeline, job: FakeJob) -> None:
        pass

    def _deployment_changed(self, deployment: FakeDeployment) -> None:
        pass

    def _pipeline_changed(self, pipeline: FakePipeline) -> None:
        pass


def derived_status(pipeline: FakePipeline) -> str:
    """The pipeline's status from its jobs' (a small part of GitLab's composite status)."""
    if pipeline.canceled:
        return "canceled"
    statuses = {job.status for job in pipeline.jobs}
    if "failed" in statuses:
        return "failed"
    if statuses <= {"success", "skipped"}:
        return "success"
    if "running" in statuses or ("success" in statuses and statuses & {"pending", "created"}):
        return "running"
    if "manual" in statuses and "pending" not in statuses:
        return "manual"
    return "pending" if "pending" in statuses else "created"


def _sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()
