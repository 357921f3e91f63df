"""Argo CD deployer: sync an Application to the job's version, or roll it back, and wait.

Upstream: the Argo CD API server's ApplicationService over REST, on the Application resource
(https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/; each server serves its
Swagger UI at /swagger-ui): GET /api/v1/applications/{name}, POST .../{name}/sync and
.../{name}/rollback, DELETE .../{name}/operation, with ``Authorization: Bearer <token>``.

A run is done as ``argocd app sync`` and ``argocd app rollback`` judge it: our operation has
finished (Argo clears the Application's ``operation`` as ``status.operationState`` completes;
Failed or Error fails the run with Argo's message); the controller has reconciled since
(``status.reconciledAt`` not before ``finishedAt``, so health is not the pre-sync one); health
is Healthy (Degraded fails). A deploy also waits for Synced, but only when the Application's
target resolves to the revision synced: a sync to another revision (a tag while the target is
a branch) leaves it OutOfSync in Argo by design, and so does every rollback.

A rollback uses the newest ``status.history`` entry whose revision (or source targetRevision)
is the version: the chart version for Helm sources, the commit SHA for Git ones. It is refused
under auto-sync, which would sync straight back to the target. On a timeout or a cancel, an
operation of ours still running is terminated, so it does not block the next deploy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from integrations.base import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    Progress,
    ProgressSink,
)

log = logging.getLogger(__name__)

_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)
_TERMINATE_SECONDS = 3.0  # a cancel or timeout waits no longer than this for Argo
_RUNNING = frozenset({"Running", "Terminating"})
_MISSES = 3  # polls in a row that may fail to reach Argo before the run gives up
_MAX_TEXT = 300

Json = dict[str, Any]


@dataclass(frozen=True)
class ArgoCDDeployer:
    """Syncs (or rolls back) ``application`` on the Argo CD at ``server``, then waits."""

    server: str
    token: str = field(repr=False)
    application: str
    timeout_seconds: int = 600
    poll_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.timeout_seconds < 1 or self.poll_seconds <= 0:
            raise ValueError("timeout_seconds must be at least 1 and poll_seconds positive")

    @property
    def link(self) -> str:
        """The Application's page in the Argo CD UI."""
        return f"{self.server.rstrip('/')}/applications/{self.application}"

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Deploy or roll back to ``job.version``; raise DeployError (or a subclass) unless done."""
        if not self.server:
            where = "set ARGOCD_URL or the catalog's argocd.server"
            raise DeployError(f"no Argo CD server for application {self.application}: {where}")
        watch = _Watch(self, job, report)
        async with _Api(self.server, self.token, self.application) as api:
            try:
                async with asyncio.timeout(self.timeout_seconds):
                    await self._start(api, job, watch)
                    await watch.until_done(api)
            except TimeoutError:
                await watch.abandon(api)
                raise DeployFailed(
                    f"application {self.application} was not done within "
                    f"{self.timeout_seconds}s (last: {watch.latest or 'no news'})"
                ) from None
            except asyncio.CancelledError:
                await watch.abandon(api)
                raise

    async def _start(self, api: _Api, job: DeployJob, watch: _Watch) -> None:
        app = await api.call("GET", "", f"get application {self.application}")
        if job.action == "rollback":
            entry = self._history_entry(app, job.version)
            body: Json = {"id": int(entry.get("id") or 0), "prune": False, "dryRun": False}
            started = await api.call("POST", "/rollback", f"roll back {self.application}", body)
            wanted = str(entry.get("revision") or "")
            note = f"rollback to {job.version} started (history id {body['id']})"
        else:
            body = {"revision": job.version, "prune": False, "dryRun": False}
            started = await api.call("POST", "/sync", f"sync {self.application}", body)
            wanted, note = job.version, f"sync to {job.version} started"
        watch.pending, watch.revision = True, _op_revision(started) or wanted
        await watch.say("start", note)

    def _history_entry(self, app: Json, version: str) -> Json:
        """The newest history entry for ``version``; DeployError when rolling back can't work."""
        automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
        if automated is not None and automated.get("enabled", True) is not False:
            raise DeployError(
                f"cannot roll back {self.application}: auto-sync is on, and Argo CD would sync it "
                f"straight back to its target revision, undoing the rollback. Disable auto-sync "
                f"for {self.application} in Argo CD and roll back again, or return to {version} "
                "through Git (its targetRevision, or a revert) and let auto-sync deploy it"
            )
        history: list[Json] = (app.get("status") or {}).get("history") or []
        matches = [entry for entry in history if version in _revisions(entry)]
        if matches:
            return max(matches, key=lambda entry: int(entry.get("id") or 0))
        known = ", ".join(dict.fromkeys(str(e.get("revision")) for e in reversed(history)))
        raise DeployError(
            f"cannot roll back {self.application} to {version}: Argo CD's history of it has no "
            f"deployment of {version} ({f'it has: {known}' if known else 'its history is empty'})"
        )


class _Watch:
    """Follows our operation to the end, reporting each new state once."""

    def __init__(self, deployer: ArgoCDDeployer, job: DeployJob, report: ProgressSink) -> None:
        self._deployer, self._job, self._report = deployer, job, report
        self._kind = "rollback" if job.action == "rollback" else "sync"
        self._said: dict[str, str] = {}
        self.revision = ""  # the operation's revision, as Argo resolved it
        self.pending = False  # an operation of ours may still be running in Argo
        self.latest = ""

    async def until_done(self, api: _Api) -> None:
        delay, misses = min(0.1, self._deployer.poll_seconds), 0
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._deployer.poll_seconds)
            try:
                app = await api.call("GET", "", f"get application {self._deployer.application}")
            except _Lost:
                misses += 1
                if misses >= _MISSES:
                    raise
                continue
            misses = 0
            if await self._done(app):
                return

    async def abandon(self, api: _Api) -> None:
        """Best effort, briefly: terminate our operation if it may still be running."""
        if self.pending:
            with contextlib.suppress(DeployError, TimeoutError):
                async with asyncio.timeout(_TERMINATE_SECONDS):
                    await api.call("DELETE", "/operation", "terminate the operation")

    async def _done(self, app: Json) -> bool:
        status: Json = app.get("status") or {}
        op: Json = status.get("operationState") or {}
        phase = op.get("phase") or ""
        if phase in _RUNNING or app.get("operation") or _op_revision(op) != self.revision:
            line = _phase_line(self._kind, op) if phase in _RUNNING else f"{self._kind} pending"
            await self.say("op", line)
            return False
        self.pending = False
        await self.say("op", _phase_line(self._kind, op), failed=phase != "Succeeded")
        if phase != "Succeeded":
            raise DeployFailed(
                f"{self._kind} of application {self._deployer.application} to "
                f"{self._job.version} ended {phase}: {_trim(op.get('message') or 'no message')}"
            )
        return _reconciled_since(status, op) and await self._healthy(app, status, op)

    async def _healthy(self, app: Json, status: Json, op: Json) -> bool:
        name, health = self._deployer.application, (status.get("health") or {}).get("status")
        if health == "Degraded":
            await self.say("health", "health Degraded", failed=True)
            raise DeployFailed(f"application {name} is Degraded: {_degraded_reason(status)}")
        sync: Json = status.get("sync") or {}
        aimed = sync.get("revision") == (op.get("syncResult") or {}).get("revision")
        if health != "Healthy":
            await self.say("health", f"health {health or 'Unknown'}")
            return False
        if self._kind == "sync" and aimed and sync.get("status") != "Synced":
            await self.say("health", f"health Healthy, sync {sync.get('status') or 'Unknown'}")
            return False
        if aimed and sync.get("status") == "Synced":
            await self.say("done", f"{name} Synced and Healthy at {self._job.version}")
        else:
            target = ((app.get("spec") or {}).get("source") or {}).get("targetRevision") or "HEAD"
            note = f"OutOfSync: its target is {target}"
            await self.say("done", f"{name} Healthy at {self._job.version} ({note})")
        return True

    async def say(self, topic: str, message: str, failed: bool = False) -> None:
        """Report ``message`` unless it is what was last said on ``topic``."""
        if self._said.get(topic) == message:
            return
        self._said[topic] = self.latest = message
        progress = Progress(self._job.datacenter, message, failed, self._deployer.link)
        try:
            await self._report(progress)
        except Exception:
            log.exception("progress report failed: %s", message)


class _Lost(DeployUnreachable):
    """Argo CD did not answer (connection, timeout, gateway): worth another poll."""


class _Api:
    """One session against one Application; HTTP failures become DeployError subclasses."""

    def __init__(self, server: str, token: str, application: str) -> None:
        self._server, self._application = server.rstrip("/"), application
        self._url = f"{self._server}/api/v1/applications/{quote(application, safe='')}"
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> _Api:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=_TIMEOUT)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, suffix: str, doing: str, body: Json | None = None) -> Json:
        assert self._session is not None, "use _Api as an async context manager"
        try:
            url = self._url + suffix  # no redirects: they would turn a POST into a GET
            async with self._session.request(method, url, json=body, allow_redirects=False) as r:
                status, payload = r.status, _parse(await r.text())
        except (aiohttp.ClientError, TimeoutError) as error:
            why = type(error).__name__
            raise _Lost(f"cannot reach Argo CD at {self._server} ({why})") from None
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
            return _Lost(f"cannot reach Argo CD at {self._server} (HTTP {status})")
        return DeployError(f"Argo CD at {self._server} could not {doing}: {said or status}")


def _parse(text: str) -> Any:
    with contextlib.suppress(ValueError):
        return json.loads(text)
    return None


def _said(payload: Any) -> str:
    """Argo's own words from a grpc-gateway error body ``{error, code, message}``."""
    if not isinstance(payload, dict):
        return ""
    return _trim(str(payload.get("message") or payload.get("error") or ""))


def _op_revision(holder: Json) -> str:
    """The revision of an Application's ``operation`` or an ``operationState``'s operation."""
    operation = holder.get("operation") or {}
    return str((operation.get("sync") or {}).get("revision") or "")


def _revisions(entry: Json) -> tuple[str, str]:
    target = (entry.get("source") or {}).get("targetRevision")
    return str(entry.get("revision") or ""), str(target or "")


def _phase_line(kind: str, op: Json) -> str:
    message = _trim(op.get("message") or "")
    return f"{kind} {op.get('phase')}: {message}" if message else f"{kind} {op.get('phase')}"


def _reconciled_since(status: Json, op: Json) -> bool:
    """Has the controller compared the app with the cluster since the operation finished?"""
    reconciled, finished = status.get("reconciledAt"), op.get("finishedAt")
    if not reconciled or not finished:
        return bool(reconciled)
    return datetime.fromisoformat(reconciled) >= datetime.fromisoformat(finished)


def _degraded_reason(status: Json) -> str:
    said = (status.get("health") or {}).get("message")
    sick = [
        f"{r.get('kind')} {r.get('name')}: {(r.get('health') or {}).get('message') or 'Degraded'}"
        for r in status.get("resources") or []
        if (r.get("health") or {}).get("status") == "Degraded"
    ]
    return _trim(said or "; ".join(sick[:3]) or "Argo CD gave no reason")


def _trim(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
