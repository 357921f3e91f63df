"""The JSON FakeGitLab's REST API answers with, shaped as GitLab documents it.

Projects (https://docs.gitlab.com/api/projects/), Pipelines (https://docs.gitlab.com/api/pipelines/),
Jobs (https://docs.gitlab.com/api/jobs/), Deployments (https://docs.gitlab.com/api/deployments/)
and offset pagination (https://docs.gitlab.com/api/rest/#offset-based-pagination). ``base`` is
the instance's URL (FakeGitLab.url). Also the small formatters the webhook payloads share.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .gitlab_state import FakeDeployment, FakeJob, FakePipeline, FakeProject

LABELS = {"success": "passed", "manual": "blocked"}  # a status's label, where it differs


def project_json(base: str, project: FakeProject) -> dict[str, Any]:
    group, _, name = project.path.rpartition("/")
    return {
        "id": project.id,
        "description": "",
        "name": name,
        "name_with_namespace": project.path.replace("/", " / "),
        "path": name,
        "path_with_namespace": project.path,
        "created_at": iso(0),
        "default_branch": next(iter(project.refs), None),
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": ssh_url(project),
        "http_url_to_repo": web(base, project, ".git"),
        "web_url": web(base, project),
        "readme_url": None,
        "avatar_url": None,
        "forks_count": 0,
        "star_count": 0,
        "last_activity_at": iso(time.time()),
        "namespace": {
            "id": user_id(group),
            "name": group.rpartition("/")[2],
            "path": group.rpartition("/")[2],
            "kind": "group",
            "full_path": group,
            "parent_id": None,
            "avatar_url": None,
            "web_url": f"{base}/groups/{group}",
        },
        "visibility": "private",
    }


def pipeline_json(base: str, pipeline: FakePipeline) -> dict[str, Any]:
    status, project = pipeline.status, pipeline.project
    label = LABELS.get(status, status)
    return {
        "id": pipeline.id,
        "iid": pipeline.id,
        "project_id": project.id,
        "name": None,
        "sha": pipeline.sha,
        "ref": pipeline.ref,
        "status": status,
        "source": "api",
        "created_at": iso(pipeline.created_at),
        "updated_at": iso(pipeline.updated_at),
        "web_url": web(base, project, f"/-/pipelines/{pipeline.id}"),
        "before_sha": "0" * 40,
        "tag": False,
        "yaml_errors": None,
        "user": user_json(base, pipeline.user),
        "started_at": iso(pipeline.started_at),
        "finished_at": iso(pipeline.finished_at),
        "committed_at": None,
        "duration": duration(pipeline.started_at, pipeline.finished_at),
        "queued_duration": 0.01,
        "coverage": None if pipeline.coverage is None else f"{pipeline.coverage:.1f}",
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


def variables_json(pipeline: FakePipeline) -> list[dict[str, Any]]:
    return [
        {"key": key, "variable_type": "env_var", "value": value}
        for key, value in pipeline.variables.items()
    ]


def job_json(base: str, pipeline: FakePipeline, job: FakeJob) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "commit": _commit_json(pipeline),
        "coverage": None,
        "archived": False,
        "source": "api",
        "allow_failure": False,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "erased_at": None,
        "duration": duration(job.started_at, job.finished_at),
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
            "created_at": iso(pipeline.created_at),
            "updated_at": iso(pipeline.updated_at),
            "web_url": web(base, pipeline.project, f"/-/pipelines/{pipeline.id}"),
        },
        "ref": pipeline.ref,
        "runner": None,
        "runner_manager": None,
        "stage": job.stage,
        "status": job.status,
        "tag": False,
        "web_url": web(base, pipeline.project, f"/-/jobs/{job.id}"),
        "project": {"ci_job_token_scope_enabled": False},
        "user": user_json(base, pipeline.user),
    }
    if job.status == "failed":
        answer["failure_reason"] = "script_failure"
    return answer


def deployment_json(base: str, deployment: FakeDeployment) -> dict[str, Any]:
    job, pipeline = deployment.job, deployment.pipeline
    return {
        "id": deployment.id,
        "iid": deployment.id,
        "ref": deployment.ref,
        "sha": deployment.sha,
        "created_at": iso(deployment.created_at),
        "updated_at": iso(deployment.updated_at),
        "status": deployment.status,
        "user": user_json(base, deployment.user),
        "environment": {
            "id": user_id(deployment.environment),
            "name": deployment.environment,
            "external_url": None,
        },
        "deployable": job_json(base, pipeline, job) if job and pipeline else None,
    }


def page(base: str, request: Request, items: list[Any]) -> Response:
    """GitLab's offset pagination: ``page``/``per_page`` (20, at most 100), X-* and Link."""
    per_page = min(max(int(request.query_params.get("per_page", 20)), 1), 100)
    number = max(int(request.query_params.get("page", 1)), 1)
    pages = max(math.ceil(len(items) / per_page), 1)
    path = raw_path(request)

    def link(to: int, rel: str) -> str:
        query = urlencode({**request.query_params, "page": to, "per_page": per_page})
        return f'<{base}{path}?{query}>; rel="{rel}"'

    links = [link(number - 1, "prev")] if number > 1 else []
    links += [link(number + 1, "next")] if number < pages else []
    headers = {
        "X-Page": str(number),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(pages),
        "X-Next-Page": str(number + 1) if number < pages else "",
        "X-Prev-Page": str(number - 1) if number > 1 else "",
        "Link": ", ".join([*links, link(1, "first"), link(pages, "last")]),
    }
    return JSONResponse(items[(number - 1) * per_page : number * per_page], headers=headers)


def raw_path(request: Request) -> str:
    """The path as sent, still percent-encoded (``group%2Fapp`` stays one segment)."""
    return str(request.scope.get("raw_path", b"").decode("latin-1").partition("?")[0])


def user_json(base: str, username: str) -> dict[str, Any]:
    return {
        "id": user_id(username),
        "username": username,
        "name": username.title(),
        "state": "active",
        "avatar_url": None,
        "web_url": f"{base}/{username}",
    }


def _commit_json(pipeline: FakePipeline) -> dict[str, Any]:
    return {
        "author_email": "admin@example.com",
        "author_name": "Administrator",
        "created_at": iso(pipeline.created_at),
        "id": pipeline.sha,
        "message": f"Release {pipeline.ref}",
        "short_id": pipeline.sha[:8],
        "title": f"Release {pipeline.ref}",
    }


# Formatters shared with the webhook payloads


def web(base: str, project: FakeProject, tail: str = "") -> str:
    return f"{base}/{project.path}{tail}"


def ssh_url(project: FakeProject) -> str:
    return f"git@127.0.0.1:{project.path}.git"


def user_id(name: str) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:6], 16)


def duration(started: float | None, finished: float | None) -> float | None:
    return round(finished - started, 3) if started and finished else None


def when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def iso(stamp: float | None) -> str | None:
    """REST time: 2016-08-11T11:28:34.085Z."""
    if stamp is None:
        return None
    return when(stamp).isoformat(timespec="milliseconds").replace("+00:00", "Z")
