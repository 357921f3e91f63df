"""FakeGitLab: a local GitLab REST API (v4) over real HTTP, for the calls shipbot makes.

It answers as GitLab documents: Projects (https://docs.gitlab.com/api/projects/), Pipelines
(https://docs.gitlab.com/api/pipelines/), Jobs (https://docs.gitlab.com/api/jobs/) and
Deployments (https://docs.gitlab.com/api/deployments/), with ``PRIVATE-TOKEN`` auth, GitLab's
error bodies and offset-pagination headers. While ``hook_url`` is set (at construction or any
time later) it posts Pipeline, Job and Deployment hooks there
(https://docs.gitlab.com/user/project/integrations/webhook_events/).

Pipelines follow ``plan`` (see gitlab_state). Steps happen on each GET of the pipeline
(default: whoever follows a pipeline drives it, one state per look) or, with ``step_seconds``,
on a background thread. The JSON shapes are in gitlab_shapes and gitlab_hooks.

Trouble on demand: ``create_delay`` holds each POST creating a pipeline that many seconds before
GitLab makes it and answers; :meth:`FakeGitLab.fail_pipeline_reads` answers the next reads of a
pipeline with an error status, as while GitLab is down.
"""

from __future__ import annotations

import asyncio
import http
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import gitlab_hooks as hooks
from .gitlab_hooks import HookSender, SentHook
from .gitlab_repo import ReportTotals
from .gitlab_repo_api import RepositoryRoutes
from .gitlab_shapes import (
    deployment_json,
    job_json,
    page,
    pipeline_json,
    project_json,
    raw_path,
    variables_json,
)
from .gitlab_state import (
    API_USER,
    FakeDeployment,
    FakeJob,
    FakePipeline,
    FakeProject,
    GitLabState,
)
from .http_server import BackgroundServer

__all__ = [
    "API_USER",
    "DEFAULT_PLAN",
    "DEFAULT_TOKEN",
    "FakeDeployment",
    "FakeGitLab",
    "FakeJob",
    "FakePipeline",
    "FakeProject",
    "ReportTotals",
    "SentHook",
]

DEFAULT_TOKEN = "glpat-test"
DEFAULT_PLAN = (("build", "build"), ("deploy", "deploy"))
_P = r"/api/v4/projects/(?P<project>[^/]+)"
_Route = tuple[str, re.Pattern[str], Callable[..., Response]]


class FakeGitLab(RepositoryRoutes, GitLabState):
    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        plan: Iterable[tuple[str, str]] = DEFAULT_PLAN,
        step_seconds: float | None = None,
        hook_url: str | None = None,
        hook_token: str | None = None,
    ) -> None:
        super().__init__(plan)
        self.token, self.step_seconds = token, step_seconds
        self.create_delay = 0.0  # seconds a POST creating a pipeline waits before it is made
        self._failing_reads = (0, 503)  # (pipeline GETs left to fail, their status)
        self.down = False  # every request is answered 503, as while GitLab is down
        self.requests: list[str] = []  # "GET /api/v4/projects/group%2Fapp", as received
        self._sender = HookSender(lambda: self.url, hook_url, hook_token)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._routes = self._route_table()
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])
        self._server = BackgroundServer(app)

    def __enter__(self) -> FakeGitLab:
        self._server.start()
        if self.step_seconds is not None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        self._sender.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=10)
        self._sender.stop()  # after the ticker, so that its last hooks go too
        self._server.stop()

    @property
    def url(self) -> str:
        """GITLAB_URL: the API lives under ``{url}/api/v4``."""
        return self._server.url

    @property
    def hook_url(self) -> str | None:
        """Where hooks go; may be set (or unset) at any time, each hook reads it as it goes."""
        return self._sender.url

    @hook_url.setter
    def hook_url(self, url: str | None) -> None:
        self._sender.url = url

    @property
    def hook_token(self) -> str | None:
        """The X-Gitlab-Token hooks carry (none when None); may be set at any time."""
        return self._sender.token

    @hook_token.setter
    def hook_token(self, token: str | None) -> None:
        self._sender.token = token

    def reset(self) -> None:
        """As just started: no projects, pipelines, rules, requests or hooks on record."""
        super().reset()
        with self._lock:
            self.requests.clear()
            self._sender.sent.clear()
            self.create_delay, self._failing_reads = 0.0, (0, 503)
            self.down = False

    @property
    def hooks(self) -> list[SentHook]:
        """The hooks posted, in the order sent."""
        return self._sender.sent

    # Test controls (more in GitLabState)

    def fail_pipeline_reads(self, times: int, status: int = 503) -> None:
        """The next ``times`` GETs of a pipeline are answered ``status`` with GitLab's error
        body (``{"message": "503 Service Unavailable"}``), as while GitLab restarts."""
        with self._lock:
            self._failing_reads = (times, status)

    def deployment_hook(self, deployment_id: int, status: str | None = None) -> dict[str, Any]:
        """A Deployment Hook payload for a deployment, as GitLab would post it."""
        with self._lock:
            return hooks.deployment_hook(self.url, self.deployments[deployment_id], status)

    def post_hook(self, event: str, payload: Mapping[str, Any]) -> int | None:
        """POST one hook to ``hook_url`` now, with GitLab's headers; the receiver's status."""
        return self._sender.post(event, payload)

    # Progress: stepping and hooks

    def _tick(self) -> None:
        assert self.step_seconds is not None
        while not self._stop.wait(self.step_seconds):
            self._step_all()

    def _job_changed(self, pipeline: FakePipeline, job: FakeJob) -> None:
        self._sender.queue("Job Hook", hooks.job_hook(self.url, pipeline, job))

    def _deployment_changed(self, deployment: FakeDeployment) -> None:
        self._sender.queue("Deployment Hook", hooks.deployment_hook(self.url, deployment, None))

    def _pipeline_changed(self, pipeline: FakePipeline) -> None:
        self._sender.queue("Pipeline Hook", hooks.pipeline_hook(self.url, pipeline))

    # HTTP

    def _route_table(self) -> list[_Route]:
        """Each path names a project, then perhaps one thing of it by id: the handler gets that
        thing (project, pipeline, (pipeline, job) or deployment), or the request is a 404."""
        table: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", "", self._get_project),
            ("POST", "/pipeline", self._create_pipeline),
            ("GET", r"/pipelines/(?P<pipeline>\d+)", self._get_pipeline),
            ("GET", r"/pipelines/(?P<pipeline>\d+)/jobs", self._list_jobs),
            ("GET", r"/pipelines/(?P<pipeline>\d+)/variables", self._list_variables),
            ("POST", r"/pipelines/(?P<pipeline>\d+)/cancel", self._cancel_pipeline),
            ("POST", r"/jobs/(?P<job>\d+)/play", self._play_job),
            ("GET", r"/deployments/(?P<deployment>\d+)", self._get_deployment),
            *self._repository_routes(),
        ]
        return [(method, re.compile(_P + tail), handler) for method, tail, handler in table]

    async def _handle(self, request: Request) -> Response:
        path = raw_path(request)
        with self._lock:
            self.requests.append(f"{request.method} {path}")
            if self.down:
                return _message(503, "503 Service Unavailable")
        if request.headers.get("private-token") != self.token:
            return _message(401, "401 Unauthorized")
        body = await _json(request)
        for method, pattern, handler in self._routes:
            if method == request.method and (match := pattern.fullmatch(path)):
                if handler == self._create_pipeline:
                    await asyncio.sleep(self.create_delay)
                with self._lock:
                    if handler == self._get_pipeline and (failed := self._failed_read()):
                        return failed
                    return self._dispatch(handler, request, body, match.groupdict())
        return JSONResponse({"error": "404 Not Found"}, status_code=404)

    def _dispatch(
        self, handler: Callable[..., Response], request: Request, body: Any, ids: dict[str, str]
    ) -> Response:
        project = self._find_project(unquote(ids.pop("project")))
        if project is None:
            return _message(404, "404 Project Not Found")
        found: Any = project
        lookups: dict[str, Callable[[FakeProject, str], Any]] = {
            "pipeline": lambda p, key: self._project_pipeline(p, int(key)),
            "job": lambda p, key: self._project_job(p, int(key)),
            "deployment": lambda p, key: self._project_deployment(p, int(key)),
            "commit": lambda p, key: self._project_commit(p, unquote(key)),
            "tag": lambda p, key: self._project_tag(p, unquote(key)),
        }
        for kind, key in ids.items():  # the one id after the project's, if any
            if (found := lookups[kind](project, key)) is None:
                return _message(404, _NOT_FOUND.get(kind, "404 Not found"))
        return handler(request, body, found)

    def _failed_read(self) -> Response | None:
        left, status = self._failing_reads
        if not left:
            return None
        self._failing_reads = (left - 1, status)
        return _message(status, f"{status} {http.HTTPStatus(status).phrase}")

    # What a path names, in a project (under the lock)

    def _find_project(self, key: str) -> FakeProject | None:
        if key.isdigit():
            return self.projects.get(int(key))
        return next((p for p in self.projects.values() if p.path == key), None)

    def _project_pipeline(self, project: FakeProject, pipeline_id: int) -> FakePipeline | None:
        pipeline = next((p for p in self.pipelines if p.id == pipeline_id), None)
        return pipeline if pipeline is not None and pipeline.project is project else None

    def _project_job(
        self, project: FakeProject, job_id: int
    ) -> tuple[FakePipeline, FakeJob] | None:
        return next(
            (
                (pipeline, job)
                for pipeline in self.pipelines
                if pipeline.project is project
                for job in pipeline.jobs
                if job.id == job_id
            ),
            None,
        )

    def _project_deployment(
        self, project: FakeProject, deployment_id: int
    ) -> FakeDeployment | None:
        deployment = self.deployments.get(deployment_id)
        return deployment if deployment is not None and deployment.project is project else None

    def _get_project(self, request: Request, body: Any, project: FakeProject) -> Response:
        return JSONResponse(project_json(self.url, project))

    def _create_pipeline(self, request: Request, body: Any, project: FakeProject) -> Response:
        ref = body.get("ref") or request.query_params.get("ref")
        if not ref:
            return JSONResponse({"error": "ref is missing"}, status_code=400)
        if ref not in project.refs:
            return _message(400, {"base": ["Reference not found"]})
        variables = {item["key"]: str(item.get("value", "")) for item in body.get("variables", [])}
        pipeline = self._new_pipeline(project, ref, project.refs[ref], variables, API_USER)
        self._step(pipeline)  # the first stage is queued at once: GitLab answers "pending"
        return JSONResponse(pipeline_json(self.url, pipeline), status_code=201)

    def _get_pipeline(self, request: Request, body: Any, pipeline: FakePipeline) -> Response:
        if self.step_seconds is None:
            self._step(pipeline)
        return JSONResponse(pipeline_json(self.url, pipeline))

    def _list_jobs(self, request: Request, body: Any, pipeline: FakePipeline) -> Response:
        newest_first = reversed(pipeline.jobs)
        return page(self.url, request, [job_json(self.url, pipeline, j) for j in newest_first])

    def _list_variables(self, request: Request, body: Any, pipeline: FakePipeline) -> Response:
        return JSONResponse(variables_json(pipeline))

    def _cancel_pipeline(self, request: Request, body: Any, pipeline: FakePipeline) -> Response:
        self._cancel(pipeline)
        return JSONResponse(pipeline_json(self.url, pipeline))

    def _play_job(
        self, request: Request, body: Any, found: tuple[FakePipeline, FakeJob]
    ) -> Response:
        pipeline, job = found
        if job.status != "manual":
            return _message(400, "400 Bad request - Unplayable Job")
        self._play(pipeline, job)
        return JSONResponse(job_json(self.url, pipeline, job))

    def _get_deployment(self, request: Request, body: Any, deployment: FakeDeployment) -> Response:
        return JSONResponse(deployment_json(self.url, deployment))


async def _json(request: Request) -> Any:
    body = await request.body()
    if not body or "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        return json.loads(body)
    except ValueError:
        return {}


def _message(status: int, message: Any) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


_NOT_FOUND = {"commit": "404 Commit Not Found", "tag": "404 Tag Not Found"}
