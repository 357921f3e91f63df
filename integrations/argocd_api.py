"""HTTP to one Argo CD Application, and reading what it says; every failure comes back as a
DeployError subclass.

Upstream: the Argo CD API server's ApplicationService over REST (grpc-gateway), on the
Application resource (https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/; each
server serves its Swagger UI at /swagger-ui), with ``Authorization: Bearer <token>``:

- ``GET /api/v1/applications/{name}``: the Application (Get);
- ``GET .../{name}/revisions/{revision}/metadata``: a Git commit's RevisionMetadata
  ``{author, date, tags, message, signatureInfo}`` (RevisionMetadata; ``tags`` is left out when
  the commit has none). Argo answers 500 for a revision that is not a commit SHA ("revision …
  must be resolved") or that its repo server cannot fetch;
- ``POST .../{name}/sync`` ``{revision, prune, dryRun}`` and ``POST .../{name}/rollback``
  ``{id, prune, dryRun}`` (Sync, Rollback), both answering the Application;
- ``DELETE .../{name}/operation`` (TerminateOperation).

Errors are grpc-gateway's ``{error, code, message}``: 401 for the token, 403 "permission
denied" for a missing grant and for an Application that does not exist, 404 where Argo says
NotFound, 400 for a refused operation.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.ports.deployer import DeployError, DeployUnreachable
from integrations.urls import without_credentials

Json = dict[str, Any]

_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)
_MAX_TEXT = 300
_COMMIT = re.compile(r"[0-9a-f]{40}")  # how Argo records a Git revision in history


class Lost(DeployUnreachable):
    """Argo CD did not answer (connection, timeout, gateway): worth another poll."""


class ApplicationApi:
    """One session against one Application: ``async with ApplicationApi(...) as api:``."""

    def __init__(self, server: str, token: str, application: str) -> None:
        self._application = application
        self._url = f"{server.rstrip('/')}/api/v1/applications/{quote(application, safe='')}"
        self._server = without_credentials(server).rstrip("/")  # as messages name it
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ApplicationApi:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=_TIMEOUT)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def application(self) -> Json:
        return await self._call("GET", "", f"get application {self._application}")

    async def revision_metadata(self, revision: str) -> Json:
        """Argo's RevisionMetadata of the Git commit ``revision`` (a full SHA)."""
        suffix = f"/revisions/{quote(revision, safe='')}/metadata"
        return await self._call("GET", suffix, f"read the tags of commit {revision[:7]}")

    async def sync(self, revision: str) -> Json:
        body = {"revision": revision, "prune": False, "dryRun": False}
        return await self._call("POST", "/sync", f"sync {self._application}", body)

    async def rollback(self, history_id: int) -> Json:
        body = {"id": history_id, "prune": False, "dryRun": False}
        return await self._call("POST", "/rollback", f"roll back {self._application}", body)

    async def terminate(self) -> None:
        await self._call("DELETE", "/operation", "terminate the operation")

    async def _call(self, method: str, suffix: str, doing: str, body: Json | None = None) -> Json:
        if self._session is None:
            raise RuntimeError("use ApplicationApi as an async context manager")
        try:
            url = self._url + suffix  # no redirects: they would turn a POST into a GET
            async with self._session.request(method, url, json=body, allow_redirects=False) as r:
                status, payload = r.status, _parse(await r.text())
        except (aiohttp.ClientError, TimeoutError) as error:
            why = type(error).__name__
            raise Lost(f"cannot reach Argo CD at {self._server} ({why})") from None
        if status >= 400:
            raise self._refusal(status, payload, doing)
        if status >= 300:
            raise DeployUnreachable(f"Argo CD at {self._server} redirects; give its API's URL")
        if not isinstance(payload, dict):
            raise DeployUnreachable(f"Argo CD at {self._server} answered {doing} without JSON")
        return payload

    def _refusal(self, status: int, payload: Any, doing: str) -> DeployError:
        said = _said(payload)
        if status == 401:
            return DeployUnreachable(
                f"Argo CD at {self._server} refused the token ({said or 'HTTP 401'}); "
                "check ARGOCD_TOKEN"
            )
        if status == 403:
            return DeployUnreachable(
                f"Argo CD at {self._server} refused the token access to application "
                f"{self._application} ({said or 'permission denied'}): the application does not "
                "exist there, or the token may not get and sync it"
            )
        if status == 404:
            return DeployError(f"application {self._application} not found on {self._server}")
        if status in (502, 503, 504) and not said:
            return Lost(f"cannot reach Argo CD at {self._server} (HTTP {status})")
        return DeployError(f"Argo CD at {self._server} could not {doing}: {said or status}")


# -- what an Application says ------------------------------------------------------------


def op_revision(holder: Json) -> str:
    """The revision of an Application's ``operation`` or an ``operationState``'s operation."""
    operation = holder.get("operation") or {}
    return str((operation.get("sync") or {}).get("revision") or "")


def history_id(entry: Json) -> int:
    """A history entry's id."""
    return int(entry.get("id") or 0)


def commit_of(entry: Json) -> str:
    """The Git commit a history entry deployed, or "" (a Helm chart version, say)."""
    revision = str(entry.get("revision") or "")
    return revision if _COMMIT.fullmatch(revision) else ""


def reconciled_since(status: Json, op: Json) -> bool:
    """Has the controller compared the app with the cluster since the operation finished?"""
    reconciled, finished = status.get("reconciledAt"), op.get("finishedAt")
    if not reconciled or not finished:
        return bool(reconciled)
    return datetime.fromisoformat(reconciled) >= datetime.fromisoformat(finished)


def degraded_reason(status: Json) -> str:
    """Why a Degraded Application is: its health message, else its Degraded resources'."""
    said = (status.get("health") or {}).get("message")
    sick = [
        f"{r.get('kind')} {r.get('name')}: {(r.get('health') or {}).get('message') or 'Degraded'}"
        for r in status.get("resources") or []
        if (r.get("health") or {}).get("status") == "Degraded"
    ]
    return trim(said or "; ".join(sick[:3]) or "Argo CD gave no reason")


def trim(text: str) -> str:
    """``text`` on one line, cut to a length fit for a chat message."""
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _parse(text: str) -> Any:
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return None


def _said(payload: Any) -> str:
    """Argo's own words from a grpc-gateway error body ``{error, code, message}``."""
    if not isinstance(payload, dict):
        return ""
    return trim(str(payload.get("message") or payload.get("error") or ""))
