"""GitLab's Pipeline, Job and Deployment hooks, and FakeGitLab's sender of them.

Payloads and headers as GitLab documents them
(https://docs.gitlab.com/user/project/integrations/webhook_events/). ``base`` is the
instance's URL (FakeGitLab.url).
"""

from __future__ import annotations

import queue
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .gitlab_shapes import LABELS, duration, iso, ssh_url, user_id, web, when
from .gitlab_state import FakeDeployment, FakeJob, FakePipeline, FakeProject


@dataclass(frozen=True)
class SentHook:
    event: str  # X-Gitlab-Event, e.g. "Pipeline Hook"
    payload: dict[str, Any]
    status: int | None  # the receiver's HTTP status; None when it could not be reached


class HookSender:
    """Posts hooks to ``url`` with GitLab's headers, in order, from a thread of its own.

    ``url`` and ``token`` are read as each hook goes, so either may be set or changed at any
    time; a hook made while ``url`` is unset is dropped, as GitLab has nowhere to send it.
    """

    def __init__(self, instance: Callable[[], str], url: str | None, token: str | None) -> None:
        self.url, self.token = url, token
        self.sent: list[SentHook] = []  # in the order sent
        self._instance = instance  # X-Gitlab-Instance
        self._uuid = str(uuid.uuid4())  # X-Gitlab-Webhook-UUID: one hook, many events
        self._outbox: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._send_all, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Sends what is queued, then stops."""
        self._outbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def queue(self, event: str, payload: dict[str, Any]) -> None:
        if self.url:
            self._outbox.put((event, payload))

    def post(self, event: str, payload: Mapping[str, Any]) -> int | None:
        """POST one hook to ``url`` now; the receiver's status."""
        assert self.url, "FakeGitLab needs a hook_url to post hooks"
        try:
            answer = requests.post(self.url, json=payload, headers=self._headers(event), timeout=5)
            status: int | None = answer.status_code
        except requests.RequestException:
            status = None
        self.sent.append(SentHook(event, dict(payload), status))
        return status

    def _headers(self, event: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitLab/18.0.0",
            "X-Gitlab-Event": event,
            "X-Gitlab-Instance": self._instance(),
            "X-Gitlab-Webhook-UUID": self._uuid,
            "X-Gitlab-Event-UUID": str(uuid.uuid4()),
            "Idempotency-Key": str(uuid.uuid4()),
        }
        return headers | ({"X-Gitlab-Token": self.token} if self.token else {})

    def _send_all(self) -> None:
        while (item := self._outbox.get()) is not None:
            if self.url:
                self.post(*item)


def pipeline_hook(base: str, pipeline: FakePipeline) -> dict[str, Any]:
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
            "detailed_status": LABELS.get(pipeline.status, pipeline.status),
            "stages": list(dict.fromkeys(job.stage for job in pipeline.jobs)),
            "created_at": _utc(pipeline.created_at),
            "finished_at": _utc(pipeline.finished_at),
            "duration": duration(pipeline.started_at, pipeline.finished_at),
            "queued_duration": 0,
            "variables": [{"key": k, "value": v} for k, v in pipeline.variables.items()],
            "url": web(base, project, f"/-/pipelines/{pipeline.id}"),
        },
        "merge_request": None,
        "user": _user(pipeline.user),
        "project": _project(base, project),
        "commit": {
            "id": pipeline.sha,
            "message": f"Release {pipeline.ref}\n",
            "title": f"Release {pipeline.ref}",
            "timestamp": _iso_seconds(pipeline.created_at),
            "url": web(base, project, f"/-/commit/{pipeline.sha}"),
            "author": {"name": "Administrator", "email": "admin@example.com"},
        },
        "builds": [_build(pipeline, job) for job in reversed(pipeline.jobs)],
    }


def job_hook(base: str, pipeline: FakePipeline, job: FakeJob) -> dict[str, Any]:
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
        "build_created_at": iso(job.created_at),
        "build_started_at": iso(job.started_at),
        "build_finished_at": iso(job.finished_at),
        "build_created_at_iso": _iso_seconds(job.created_at),
        "build_started_at_iso": _iso_seconds(job.started_at),
        "build_finished_at_iso": _iso_seconds(job.finished_at),
        "build_duration": duration(job.started_at, job.finished_at),
        "build_queued_duration": 0.01,
        "build_allow_failure": False,
        "build_failure_reason": _failure(job) or "unknown_failure",
        "pipeline_id": pipeline.id,
        "runner": None,
        "project_id": project.id,
        "project_name": project.path.replace("/", " / "),
        "user": _user(pipeline.user),
        "commit": {
            "id": pipeline.id,
            "name": None,
            "sha": pipeline.sha,
            "message": f"Release {pipeline.ref}\n",
            "author_name": "Administrator",
            "author_email": "admin@example.com",
            "author_url": f"{base}/root",
            "status": pipeline.status,
            "duration": duration(pipeline.started_at, pipeline.finished_at),
            "started_at": _utc(pipeline.started_at),
            "finished_at": _utc(pipeline.finished_at),
            "started_at_iso": _iso_seconds(pipeline.started_at),
            "finished_at_iso": _iso_seconds(pipeline.finished_at),
        },
        "repository": {
            "name": project.path.rpartition("/")[2],
            "url": web(base, project),
            "description": "",
            "homepage": web(base, project),
            "git_ssh_url": ssh_url(project),
            "git_http_url": web(base, project, ".git"),
            "visibility_level": 0,
        },
        "project": _project(base, project),
        "environment": None,
    }


def deployment_hook(base: str, deployment: FakeDeployment, status: str | None) -> dict[str, Any]:
    project, job = deployment.project, deployment.job
    url = web(base, project)
    return {
        "object_kind": "deployment",
        "status": status or deployment.status,
        "status_changed_at": when(deployment.updated_at).strftime("%Y-%m-%d %H:%M:%S %z"),
        "deployment_id": deployment.id,
        "deployable_id": job.id if job else None,
        "deployable_url": f"{url}/-/jobs/{job.id}" if job else None,
        "environment": deployment.environment,
        "environment_tier": "other",
        "environment_slug": re.sub(r"[^a-z0-9]+", "-", deployment.environment.lower()),
        "environment_external_url": None,
        "project": {
            **_project(base, project),
            "homepage": url,
            "url": ssh_url(project),
            "ssh_url": ssh_url(project),
            "http_url": f"{url}.git",
        },
        "short_sha": deployment.sha[:8],
        "user": _user(deployment.user),
        "user_url": f"{base}/{deployment.user}",
        "commit_url": f"{url}/-/commit/{deployment.sha}",
        "commit_title": f"Release {deployment.ref}",
    }


def _build(pipeline: FakePipeline, job: FakeJob) -> dict[str, Any]:
    """One of a Pipeline Hook's ``builds``."""
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
        "duration": duration(job.started_at, job.finished_at),
        "queued_duration": 0.01 if job.started_at else None,
        "failure_reason": _failure(job),
        "when": "manual" if job.manual else "on_success",
        "manual": job.manual,
        "allow_failure": False,
        "user": _user(pipeline.user),
        "runner": None,
        "artifacts_file": {"filename": None, "size": None},
        "environment": environment,
    }


def _project(base: str, project: FakeProject) -> dict[str, Any]:
    url = web(base, project)
    return {
        "id": project.id,
        "name": project.path.rpartition("/")[2],
        "description": "",
        "web_url": url,
        "avatar_url": None,
        "git_ssh_url": ssh_url(project),
        "git_http_url": f"{url}.git",
        "namespace": project.path.rpartition("/")[0],
        "visibility_level": 0,
        "path_with_namespace": project.path,
        "default_branch": next(iter(project.refs), None),
        "ci_config_path": None,
    }


def _user(username: str) -> dict[str, Any]:
    return {
        "id": user_id(username),
        "name": username.title(),
        "username": username,
        "avatar_url": None,
        "email": "[REDACTED]",
    }


def _failure(job: FakeJob) -> str | None:
    return "script_failure" if job.status == "failed" else None


def _iso_seconds(stamp: float | None) -> str | None:
    return None if stamp is None else when(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(stamp: float | None) -> str | None:
    """Pipeline hook time: 2016-08-12 15:23:28 UTC."""
    return None if stamp is None else when(stamp).strftime("%Y-%m-%d %H:%M:%S UTC")
