"""`POST /gitlab/webhook`: Pipeline, Job and Deployment hooks from GitLab.

Payloads: https://docs.gitlab.com/user/project/integrations/webhook_events/
The token GitLab sends in ``X-Gitlab-Token`` must equal GITLAB_WEBHOOK_SECRET (compared in
constant time); without that setting, every hook is told webhooks are not configured.
Pipeline and Job hooks wake the worker following that pipeline; a successful Deployment hook
for a catalogued project and environment is handed to a worker, which asks GitLab whether
shipbot ran it and records it in history if not. Nothing here calls GitLab.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.domain import external
from bot.domain.services import Services
from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000
NOT_CONFIGURED = (
    "GitLab webhooks are not configured on this shipbot (GITLAB_WEBHOOK_SECRET is not set)"
)


class _Project(BaseModel):
    id: int
    path_with_namespace: str = ""


class _Pipeline(BaseModel):
    id: int
    status: str


class PipelineHook(BaseModel):
    object_kind: Literal["pipeline"]
    project: _Project
    object_attributes: _Pipeline


class JobHook(BaseModel):
    object_kind: Literal["build"]
    project_id: int
    pipeline_id: int
    build_status: str


class DeploymentHook(BaseModel):
    object_kind: Literal["deployment"]
    status: str
    deployment_id: int
    environment: str
    project: _Project


Hook = Annotated[PipelineHook | JobHook | DeploymentHook, Field(discriminator="object_kind")]
HOOK = TypeAdapter(Hook)


def gitlab_webhook(services: Services, secret: str) -> Callable[[Request], Awaitable[Response]]:
    if not secret:
        log.warning("GITLAB_WEBHOOK_SECRET is not set: /gitlab/webhook answers 401 to every hook")

    async def webhook(request: Request) -> Response:
        token = request.headers.get("x-gitlab-token", "")
        if not secret:
            return _answer(401, NOT_CONFIGURED)
        if not hmac.compare_digest(token.encode(), secret.encode()):
            return _answer(401, "X-Gitlab-Token does not match GITLAB_WEBHOOK_SECRET")
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit():
            return _answer(411, "a Content-Length is required")
        if int(declared) > MAX_BODY:
            return _answer(413, "payload too large")
        body = await _at_most(request, MAX_BODY)
        if body is None:
            return _answer(413, "payload too large")
        try:
            hook = HOOK.validate_json(body)
        except ValidationError as error:
            return _answer(400, _why(error))
        try:
            return await _handle(services, hook)
        except StoreUnavailable:
            return _answer(503, "shipbot's Redis is unreachable; nothing was recorded")

    return webhook


async def _handle(services: Services, hook: PipelineHook | JobHook | DeploymentHook) -> Response:
    match hook:
        case PipelineHook(project=project, object_attributes=pipeline):
            await external.pipeline_changed(services, project.id, pipeline.id)
        case JobHook(project_id=project_id, pipeline_id=pipeline_id):
            await external.pipeline_changed(services, project_id, pipeline_id)
        case DeploymentHook(project=project):
            ignored = await external.deployment_announced(
                services,
                external.Announced(
                    project.id, project.path_with_namespace, hook.environment, hook.status
                ),
                hook.deployment_id,
            )
            if ignored:
                return _answer(200, f"ignored: {ignored}")
            return _answer(202, "accepted: a worker will record it unless shipbot ran it")
    return _answer(200, "ok")


async def _at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it proves longer than ``limit`` (whatever the headers say)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _why(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    if first["type"] == "union_tag_invalid":
        return "unsupported event: only Pipeline, Job and Deployment hooks are accepted"
    if first["type"] == "union_tag_not_found":
        return "not a GitLab webhook payload: object_kind is missing"
    where = ".".join(str(p) for p in first["loc"][1:]) or "body"
    return f"malformed payload: {where}: {first['msg']}"


def _answer(status: int, message: str) -> Response:
    return JSONResponse({"message": message}, status_code=status)
