"""FakeGitLab: a local GitLab REST API (v4) over real HTTP, for the calls shipbot makes.

It answers as GitLab documents: Projects (https://docs.gitlab.com/api/projects/), Pipelines
(https://docs.gitlab.com/api/pipelines/), Jobs (https://docs.gitlab.com/api/jobs/) and
Deployments (https://docs.gitlab.com/api/deployments/), with ``PRIVATE-TOKEN`` auth, GitLab's
error bodies and offset-pagination headers. Given ``hook_url`` it posts Pipeline, Job and
Deployment hooks there (https://docs.gitlab.com/user/project/integrations/webhook_events/).

Every pipeline follows ``plan``, (stage, job) pairs in order; its last job deploys to the
environment SHIPBOT_GITLAB_ENVIRONMENT (else SHIPBOT_ENVIRONMENT, else "production") and so
makes a deployment. A step moves each job of the current stage on: created → pending → running
→ success (or failed, when told to); a manual job waits in ``manual`` until played. Steps
happen on each GET of the pipeline (default: whoever follows a pipeline drives it, one state
per look) or, with ``step_seconds``, on a background thread. State is guarded by one lock.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .http_server import BackgroundServer

DEFAULT_TOKEN = "glpat-test"
DEFAULT_PLAN = (("build", "build"), ("deploy", "deploy"))
API_USER = "shipbot"  # the token's user: pipelines created through the API are theirs
_DONE = frozenset({"success", "failed", "canceled", "skipped"})
_LABELS = {"success": "passed", "manual": "blocked"}
_HOOKED_DEPLOYMENT = frozenset({"running", "success", "failed", "canceled"})
_P = r"/api/v4/projects/(?P<project>[^/]+)"
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


@dataclass(frozen=True)
class SentHook:
    event: str  # X-Gitlab-Event, e.g. "Pipeline Hook"
    payload: dict[str, Any]
    status: int | None  # the receiver's HTTP status; None when it could not be reached


class FakeGitLab:
    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        plan: Iterable[tuple[str, str]] = DEFAULT_PLAN,
        step_seconds: float | None = None,
        hook_url: str | None = None,
        hook_token: str | None = None,
    ) -> None:
        self.token, self.plan, self.step_seconds = token, list(plan), step_seconds
        self.hook_url, self.hook_token = hook_url, hook_token
        self.projects: dict[int, FakeProject] = {}
        self.pipelines: list[FakePipeline] = []
        self.deployments: dict[int, FakeDeployment] = {}
        self.requests: list[str] = []  # "GET /api/v4/projects/group%2Fapp", as received
        self.hooks: list[SentHook] = []  # in the order sent
        self._failing: list[tuple[str | None, dict[str, str]]] = []
        self._manual: set[str] = set()
        self._hang: str | None = None
        self._ids = {kind: itertools.count(start) for kind, start in _FIRST_IDS.items()}
        self._lock = threading.RLock()
        self._outbox: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._hook_uuid = str(uuid.uuid4())
        self._routes = self._route_table()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])
        self._server = BackgroundServer(app)

    def __enter__(self) -> FakeGitLab:
        self._server.start()
        if self.step_seconds is not None:
            self._spawn(self._tick)
        if self.hook_url:
            self._spawn(self._send_hooks)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._server.stop()

    @property
    def url(self) -> str:
        """GITLAB_URL: the API lives under ``{url}/api/v4``."""
        return self._server.url

    # Test controls

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
                pipeline = self._new_pipeline(project, ref, sha, variables, user)
                pipeline.status = "success"
                for job in pipeline.jobs:
                    job.status, job.started_at = "success", time.time()
                    job.finished_at = job.started_at
                assert pipeline.deployment is not None  # the plan has a last job
                deployment = pipeline.deployment
                deployment.environment = environment
            deployment.status, deployment.updated_at = status, time.time()
            return deployment.id

    def deployment_hook(self, deployment_id: int, status: str | None = None) -> dict[str, Any]:
        """A Deployment Hook payload for a deployment, as GitLab would post it."""
        with self._lock:
            return self._deployment_hook(self.deployments[deployment_id], status)

    def post_hook(self, event: str, payload: Mapping[str, Any]) -> int | None:
        """POST one hook to ``hook_url`` now, with GitLab's headers; the receiver's status."""
        assert self.hook_url, "FakeGitLab(hook_url=...) is needed to post hooks"
        try:
            answer = requests.post(
                self.hook_url, json=payload, headers=self._hook_headers(event), timeout=5
            )
            status: int | None = answer.status_code
        except requests.RequestException:
            status = None
        self.hooks.append(SentHook(event, dict(payload), status))
        return status

    # Pipelines and their progress

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

    def _step(self, pipeline: FakePipeline) -> None:
        if pipeline.status in _DONE:
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

    def _cancel(self, pipeline: FakePipeline) -> None:
        if pipeline.status in _DONE:
            return  # GitLab answers 200 all the same
        pipeline.canceled = True
        for job in pipeline.jobs:
            if job.status not in _DONE:
                self._set(pipeline, job, "canceled")
        self._settle(pipeline)

    def _set(self, pipeline: FakePipeline, job: FakeJob, status: str) -> None:
        now = time.time()
        job.status, pipeline.updated_at = status, now
        if status == "running":
            job.started_at = now
        if status in _DONE:
            job.finished_at = now
        self._emit("Job Hook", self._job_hook(pipeline, job))
        deployment = pipeline.deployment
        if deployment is not None and deployment.job is job:
            deployment.status = "created" if status in ("pending", "manual") else status
            deployment.updated_at = now
            if status in _HOOKED_DEPLOYMENT:
                self._emit("Deployment Hook", self._deployment_hook(deployment, None))

    def _settle(self, pipeline: FakePipeline) -> None:
        status = _derived(pipeline)
        if status == pipeline.status:
            return
        now = time.time()
        pipeline.status, pipeline.updated_at = status, now
        if status == "running" and pipeline.started_at is None:
            pipeline.started_at = now
        if status in _DONE:
            pipeline.finished_at = now
        self._emit("Pipeline Hook", self._pipeline_hook(pipeline))

    def _tick(self) -> None:
        assert self.step_seconds is not None
        while not self._stop.wait(self.step_seconds):
            with self._lock:
                for pipeline in self.pipelines:
                    self._step(pipeline)

    # HTTP

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
        table: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", "", self._get_project),
            ("POST", "/pipeline", self._create_pipeline),
            ("GET", r"/pipelines/(?P<pipeline_id>\d+)", self._get_pipeline),
            ("GET", r"/pipelines/(?P<pipeline_id>\d+)/jobs", self._list_jobs),
            ("GET", r"/pipelines/(?P<pipeline_id>\d+)/variables", self._list_variables),
            ("POST", r"/pipelines/(?P<pipeline_id>\d+)/cancel", self._cancel_pipeline),
            ("POST", r"/jobs/(?P<job_id>\d+)/play", self._play_job),
            ("GET", r"/deployments/(?P<deployment_id>\d+)", self._get_deployment),
        ]
        return [(method, re.compile(_P + tail), handler) for method, tail, handler in table]

    async def _handle(self, request: Request) -> Response:
        path = request.scope.get("raw_path", b"").decode("latin-1").partition("?")[0]
        with self._lock:
            self.requests.append(f"{request.method} {path}")
        if request.headers.get("private-token") != self.token:
            return _message(401, "401 Unauthorized")
        body = await _json(request)
        for method, pattern, handler in self._routes:
            if method == request.method and (match := pattern.fullmatch(path)):
                with self._lock:
                    params = match.groupdict()
                    project = self._find_project(unquote(params.pop("project")))
                    if project is None:
                        return _message(404, "404 Project Not Found")
                    return handler(request, project, body, **params)
        return JSONResponse({"error": "404 Not Found"}, status_code=404)

    def _get_project(self, request: Request, project: FakeProject, body: Any) -> Response:
        return JSONResponse(self._project_json(project))

    def _create_pipeline(self, request: Request, project: FakeProject, body: Any) -> Response:
        ref = body.get("ref") or request.query_params.get("ref")
        if not ref:
            return JSONResponse({"error": "ref is missing"}, status_code=400)
        if ref not in project.refs:
            return _message(400, {"base": ["Reference not found"]})
        variables = {item["key"]: str(item.get("value", "")) for item in body.get("variables", [])}
        pipeline = self._new_pipeline(project, ref, project.refs[ref], variables, API_USER)
        self._step(pipeline)  # the first stage is queued at once: GitLab answers "pending"
        return JSONResponse(self._pipeline_json(pipeline), status_code=201)

    def _get_pipeline(
        self, request: Request, project: FakeProject, body: Any, pipeline_id: str
    ) -> Response:
        pipeline = self._project_pipeline(project, pipeline_id)
        if pipeline is None:
            return _message(404, "404 Not found")
        if self.step_seconds is None:
            self._step(pipeline)
        return JSONResponse(self._pipeline_json(pipeline))

    def _list_jobs(
        self, request: Request, project: FakeProject, body: Any, pipeline_id: str
    ) -> Response:
        pipeline = self._project_pipeline(project, pipeline_id)
        if pipeline is None:
            return _message(404, "404 Not found")
        jobs = [self._job_json(pipeline, job) for job in reversed(pipeline.jobs)]  # newest first
        return self._page(request, jobs)

    def _list_variables(
        self, request: Request, project: FakeProject, body: Any, pipeline_id: str
    ) -> Response:
        pipeline = self._project_pipeline(project, pipeline_id)
        if pipeline is None:
            return _message(404, "404 Not found")
        return JSONResponse(
            [
                {"key": key, "variable_type": "env_var", "value": value}
                for key, value in pipeline.variables.items()
            ]
        )

    def _cancel_pipeline(
        self, request: Request, project: FakeProject, body: Any, pipeline_id: str
    ) -> Response:
        pipeline = self._project_pipeline(project, pipeline_id)
        if pipeline is None:
            return _message(404, "404 Not found")
        self._cancel(pipeline)
        return JSONResponse(self._pipeline_json(pipeline))

    def _play_job(self, request: Request, project: FakeProject, body: Any, job_id: str) -> Response:
        found = [
            (pipeline, job)
            for pipeline in self.pipelines
            if pipeline.project is project
            for job in pipeline.jobs
            if job.id == int(job_id)
        ]
        if not found:
            return _message(404, "404 Not found")
        pipeline, job = found[0]
        if job.status != "manual":
            return _message(400, "400 Bad request - Unplayable Job")
        self._set(pipeline, job, "pending")
        self._settle(pipeline)
        return JSONResponse(self._job_json(pipeline, job))

    def _get_deployment(
        self, request: Request, project: FakeProject, body: Any, deployment_id: str
    ) -> Response:
        deployment = self.deployments.get(int(deployment_id))
        if deployment is None or deployment.project is not project:
            return _message(404, "404 Not found")
        return JSONResponse(self._deployment_json(deployment))

    def _page(self, request: Request, items: list[Any]) -> Response:
        """GitLab's offset pagination: ``page``/``per_page`` (20, at most 100), X-* and Link."""
        per_page = min(max(int(request.query_params.get("per_page", 20)), 1), 100)
        page = max(int(request.query_params.get("page", 1)), 1)
        pages = max(math.ceil(len(items) / per_page), 1)
        path = request.scope.get("raw_path", b"").decode("latin-1").partition("?")[0]

        def link(number: int, rel: str) -> str:
            query = urlencode({**request.query_params, "page": number, "per_page": per_page})
            return f'<{self.url}{path}?{query}>; rel="{rel}"'

        links = [link(page - 1, "prev")] if page > 1 else []
        links += [link(page + 1, "next")] if page < pages else []
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "Link": ", ".join([*links, link(1, "first"), link(pages, "last")]),
        }
        return JSONResponse(items[(page - 1) * per_page : page * per_page], headers=headers)

    def _find_project(self, key: str) -> FakeProject | None:
        if key.isdigit():
            return self.projects.get(int(key))
        return next((p for p in self.projects.values() if p.path == key), None)

    def _project_pipeline(self, project: FakeProject, pipeline_id: str) -> FakePipeline | None:
        pipeline = next((p for p in self.pipelines if p.id == int(pipeline_id)), None)
        return pipeline if pipeline is not None and pipeline.project is project else None

    def _pipeline(self, pipeline_id: int) -> FakePipeline:
        return next(p for p in self.pipelines if p.id == pipeline_id)

    # Shapes, as in GitLab's API and webhook documentation

    def _web(self, project: FakeProject, tail: str = "") -> str:
        return f"{self.url}/{project.path}{tail}"

    def _user_json(self, username: str) -> dict[str, Any]:
        return {
            "id": _user_id(username),
            "username": username,
            "name": username.title(),
            "state": "active",
            "avatar_url": None,
            "web_url": f"{self.url}/{username}",
        }

    def _project_json(self, project: FakeProject) -> dict[str, Any]:
        group, _, name = project.path.rpartition("/")
        return {
            "id": project.id,
            "description": "",
            "name": name,
            "name_with_namespace": project.path.replace("/", " / "),
            "path": name,
            "path_with_namespace": project.path,
            "created_at": _iso(0),
            "default_branch": next(iter(project.refs), None),
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@127.0.0.1:{project.path}.git",
            "http_url_to_repo": self._web(project, ".git"),
            "web_url": self._web(project),
            "readme_url": None,
            "avatar_url": None,
            "forks_count": 0,
            "star_count": 0,
            "last_activity_at": _iso(time.time()),
            "namespace": {
                "id": _user_id(group),
                "name": group.rpartition("/")[2],
                "path": group.rpartition("/")[2],
                "kind": "group",
                "full_path": group,
                "parent_id": None,
                "avatar_url": None,
                "web_url": f"{self.url}/groups/{group}",
            },
            "visibility": "private",
        }

    def _pipeline_json(self, pipeline: FakePipeline) -> dict[str, Any]:
        status, project = pipeline.status, pipeline.project
        label = _LABELS.get(status, status)
        return {
            "id": pipeline.id,
            "iid": pipeline.id,
            "project_id": project.id,
            "name": None,
            "sha": pipeline.sha,
            "ref": pipeline.ref,
            "status": status,
            "source": "api",
            "created_at": _iso(pipeline.created_at),
            "updated_at": _iso(pipeline.updated_at),
            "web_url": self._web(project, f"/-/pipelines/{pipeline.id}"),
            "before_sha": "0" * 40,
            "tag": False,
            "yaml_errors": None,
            "user": self._user_json(pipeline.user),
            "started_at": _iso(pipeline.started_at),
            "finished_at": _iso(pipeline.finished_at),
            "committed_at": None,
            "duration": _duration(pipeline.started_at, pipeline.finished_at),
            "queued_duration": 0.01,
            "coverage": None,
            "detailed_status": {
                "icon": f"status_{status}",
                "text": label,
                "label": label,
                "group": status,
                "tooltip": label,
                "has_details": True,
                "details_path": f"/{project.path}/-/pipelines/{pipeline.id}",
                "illustration": None,
                "favicon": f"/assets/ci_favicons/favicon_status_{status}.png",
            },
            "archived": False,
        }

    def _job_json(self, pipeline: FakePipeline, job: FakeJob) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "commit": self._commit_json(pipeline),
            "coverage": None,
            "archived": False,
            "source": "api",
            "allow_failure": False,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "erased_at": None,
            "duration": _duration(job.started_at, job.finished_at),
            "queued_duration": 0.01,
            "artifacts": [],
            "artifacts_expire_at": None,
            "tag_list": [],
            "id": job.id,
            "name": job.name,
            "pipeline": {
                "id": pipeline.id,
                "project_id": pipeline.project.id,
                "ref": pipeline.ref,
                "sha": pipeline.sha,
                "status": pipeline.status,
                "created_at": _iso(pipeline.created_at),
                "updated_at": _iso(pipeline.updated_at),
                "web_url": self._web(pipeline.project, f"/-/pipelines/{pipeline.id}"),
            },
            "ref": pipeline.ref,
            "runner": None,
            "runner_manager": None,
            "stage": job.stage,
            "status": job.status,
            "tag": False,
            "web_url": self._web(pipeline.project, f"/-/jobs/{job.id}"),
            "project": {"ci_job_token_scope_enabled": False},
            "user": self._user_json(pipeline.user),
        }
        if job.status == "failed":
            answer["failure_reason"] = "script_failure"
        return answer

    def _commit_json(self, pipeline: FakePipeline) -> dict[str, Any]:
        return {
            "author_email": "admin@example.com",
            "author_name": "Administrator",
            "created_at": _iso(pipeline.created_at),
            "id": pipeline.sha,
            "message": f"Release {pipeline.ref}",
            "short_id": pipeline.sha[:8],
            "title": f"Release {pipeline.ref}",
        }

    def _deployment_json(self, deployment: FakeDeployment) -> dict[str, Any]:
        job, pipeline = deployment.job, deployment.pipeline
        return {
            "id": deployment.id,
            "iid": deployment.id,
            "ref": deployment.ref,
            "sha": deployment.sha,
            "created_at": _iso(deployment.created_at),
            "updated_at": _iso(deployment.updated_at),
            "status": deployment.status,
            "user": self._user_json(deployment.user),
            "environment": {
                "id": _user_id(deployment.environment),
                "name": deployment.environment,
                "external_url": None,
            },
            "deployable": self._job_json(pipeline, job) if job and pipeline else None,
        }

    def _hook_project(self, project: FakeProject) -> dict[str, Any]:
        web = self._web(project)
        return {
            "id": project.id,
            "name": project.path.rpartition("/")[2],
            "description": "",
            "web_url": web,
            "avatar_url": None,
            "git_ssh_url": f"git@127.0.0.1:{project.path}.git",
            "git_http_url": f"{web}.git",
            "namespace": project.path.rpartition("/")[0],
            "visibility_level": 0,
            "path_with_namespace": project.path,
            "default_branch": next(iter(project.refs), None),
            "ci_config_path": None,
        }

    def _hook_user(self, username: str) -> dict[str, Any]:
        return {
            "id": _user_id(username),
            "name": username.title(),
            "username": username,
            "avatar_url": None,
            "email": "[REDACTED]",
        }

    def _pipeline_hook(self, pipeline: FakePipeline) -> dict[str, Any]:
        project = pipeline.project
        return {
            "object_kind": "pipeline",
            "object_attributes": {
                "id": pipeline.id,
                "iid": pipeline.id,
                "name": None,
                "ref": pipeline.ref,
                "tag": False,
                "sha": pipeline.sha,
                "before_sha": "0" * 40,
                "source": "api",
                "status": pipeline.status,
                "detailed_status": _LABELS.get(pipeline.status, pipeline.status),
                "stages": list(dict.fromkeys(stage for stage, _ in self.plan)),
                "created_at": _utc(pipeline.created_at),
                "finished_at": _utc(pipeline.finished_at),
                "duration": _duration(pipeline.started_at, pipeline.finished_at),
                "queued_duration": 0,
                "variables": [{"key": k, "value": v} for k, v in pipeline.variables.items()],
                "url": self._web(project, f"/-/pipelines/{pipeline.id}"),
            },
            "merge_request": None,
            "user": self._hook_user(pipeline.user),
            "project": self._hook_project(project),
            "commit": {
                "id": pipeline.sha,
                "message": f"Release {pipeline.ref}\n",
                "title": f"Release {pipeline.ref}",
                "timestamp": _iso_seconds(pipeline.created_at),
                "url": self._web(project, f"/-/commit/{pipeline.sha}"),
                "author": {"name": "Administrator", "email": "admin@example.com"},
            },
            "builds": [self._hook_build(pipeline, job) for job in reversed(pipeline.jobs)],
        }

    def _hook_build(self, pipeline: FakePipeline, job: FakeJob) -> dict[str, Any]:
        deployment = pipeline.deployment
        environment = None
        if deployment is not None and deployment.job is job:
            environment = {
                "name": deployment.environment,
                "action": "start",
                "deployment_tier": "other",
            }
        return {
            "id": job.id,
            "stage": job.stage,
            "name": job.name,
            "status": job.status,
            "created_at": _utc(job.created_at),
            "started_at": _utc(job.started_at),
            "finished_at": _utc(job.finished_at),
            "duration": _duration(job.started_at, job.finished_at),
            "queued_duration": 0.01 if job.started_at else None,
            "failure_reason": _failure(job),
            "when": "manual" if job.manual else "on_success",
            "manual": job.manual,
            "allow_failure": False,
            "user": self._hook_user(pipeline.user),
            "runner": None,
            "artifacts_file": {"filename": None, "size": None},
            "environment": environment,
        }

    def _job_hook(self, pipeline: FakePipeline, job: FakeJob) -> dict[str, Any]:
        project = pipeline.project
        return {
            "object_kind": "build",
            "ref": pipeline.ref,
            "tag": False,
            "before_sha": "0" * 40,
            "sha": pipeline.sha,
            "retries_count": 0,
            "build_id": job.id,
            "build_name": job.name,
            "build_stage": job.stage,
            "build_status": job.status,
            "build_created_at": _iso(job.created_at),
            "build_started_at": _iso(job.started_at),
            "build_finished_at": _iso(job.finished_at),
            "build_created_at_iso": _iso_seconds(job.created_at),
            "build_started_at_iso": _iso_seconds(job.started_at),
            "build_finished_at_iso": _iso_seconds(job.finished_at),
            "build_duration": _duration(job.started_at, job.finished_at),
            "build_queued_duration": 0.01,
            "build_allow_failure": False,
            "build_failure_reason": "script_failure"
            if job.status == "failed"
            else "unknown_failure",
            "pipeline_id": pipeline.id,
            "runner": None,
            "project_id": project.id,
            "project_name": project.path.replace("/", " / "),
            "user": self._hook_user(pipeline.user),
            "commit": {
                "id": pipeline.id,
                "name": None,
                "sha": pipeline.sha,
                "message": f"Release {pipeline.ref}\n",
                "author_name": "Administrator",
                "author_email": "admin@example.com",
                "author_url": f"{self.url}/root",
                "status": pipeline.status,
                "duration": _duration(pipeline.started_at, pipeline.finished_at),
                "started_at": _utc(pipeline.started_at),
                "finished_at": _utc(pipeline.finished_at),
                "started_at_iso": _iso_seconds(pipeline.started_at),
                "finished_at_iso": _iso_seconds(pipeline.finished_at),
            },
            "repository": {
                "name": project.path.rpartition("/")[2],
                "url": self._web(project),
                "description": "",
                "homepage": self._web(project),
                "git_ssh_url": f"git@127.0.0.1:{project.path}.git",
                "git_http_url": self._web(project, ".git"),
                "visibility_level": 0,
            },
            "project": self._hook_project(project),
            "environment": None,
        }

    def _deployment_hook(self, deployment: FakeDeployment, status: str | None) -> dict[str, Any]:
        project, job = deployment.project, deployment.job
        web = self._web(project)
        return {
            "object_kind": "deployment",
            "status": status or deployment.status,
            "status_changed_at": _local(deployment.updated_at),
            "deployment_id": deployment.id,
            "deployable_id": job.id if job else None,
            "deployable_url": f"{web}/-/jobs/{job.id}" if job else None,
            "environment": deployment.environment,
            "environment_tier": "other",
            "environment_slug": re.sub(r"[^a-z0-9]+", "-", deployment.environment.lower()),
            "environment_external_url": None,
            "project": {
                **self._hook_project(project),
                "homepage": web,
                "url": f"git@127.0.0.1:{project.path}.git",
                "ssh_url": f"git@127.0.0.1:{project.path}.git",
                "http_url": f"{web}.git",
            },
            "short_sha": deployment.sha[:8],
            "user": self._hook_user(deployment.user),
            "user_url": f"{self.url}/{deployment.user}",
            "commit_url": f"{web}/-/commit/{deployment.sha}",
            "commit_title": f"Release {deployment.ref}",
        }

    # Webhooks

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        if self.hook_url:
            self._outbox.put((event, payload))

    def _hook_headers(self, event: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitLab/18.0.0",
            "X-Gitlab-Event": event,
            "X-Gitlab-Instance": self.url,
            "X-Gitlab-Webhook-UUID": self._hook_uuid,
            "X-Gitlab-Event-UUID": str(uuid.uuid4()),
            "Idempotency-Key": str(uuid.uuid4()),
        }
        return headers | ({"X-Gitlab-Token": self.hook_token} if self.hook_token else {})

    def _send_hooks(self) -> None:
        while (item := self._outbox.get()) is not None:
            self.post_hook(*item)

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)


def _derived(pipeline: FakePipeline) -> str:
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


async def _json(request: Request) -> Any:
    body = await request.body()
    if not body or "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        return json.loads(body)
    except ValueError:
        return {}


def _failure(job: FakeJob) -> str | None:
    return "script_failure" if job.status == "failed" else None


def _message(status: int, message: Any) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def _sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def _user_id(name: str) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:6], 16)


def _duration(started: float | None, finished: float | None) -> float | None:
    return round(finished - started, 3) if started and finished else None


def _when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _iso(stamp: float | None) -> str | None:
    """REST time: 2016-08-11T11:28:34.085Z."""
    if stamp is None:
        return None
    return _when(stamp).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_seconds(stamp: float | None) -> str | None:
    return None if stamp is None else _when(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(stamp: float | None) -> str | None:
    """Pipeline hook time: 2016-08-12 15:23:28 UTC."""
    return None if stamp is None else _when(stamp).strftime("%Y-%m-%d %H:%M:%S UTC")


def _local(stamp: float) -> str:
    """Deployment hook time: 2021-04-28 21:50:00 +0000."""
    return _when(stamp).strftime("%Y-%m-%d %H:%M:%S %z")
