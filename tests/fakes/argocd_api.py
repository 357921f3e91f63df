"""A local Argo CD API server whose Applications move along by themselves, over real HTTP.

Shapes follow Argo CD's ApplicationService REST API: GET /api/v1/applications/{name}, POST
.../{name}/sync {revision, prune, dryRun}, POST .../{name}/rollback {id, prune, dryRun}, DELETE
.../{name}/operation and GET .../{name}/revisions/{revision}/metadata, with ``Authorization:
Bearer <token>``. Errors are grpc-gateway's ``{"error", "code", "message"}`` with Argo's
statuses and words: 401 for a missing or wrong token, 403 "permission denied" for an unknown
Application (Argo hides which exist; set ``missing_status = 404`` for Argo's NotFound), 400 for
a rollback under auto-sync, a sync to another revision under auto-sync, or a second operation
while one runs, 500 for revision metadata Argo cannot give (below).

Time moves on its own, whoever asks: an operation is Running for ``op_seconds``, then
Succeeded (Failed for ``failing_revisions``; a terminate ends it Failed), and the controller
reconciles at once; health is then Progressing for ``rollout_seconds``, then Healthy (Degraded
for ``degraded_revisions``). A successful sync or rollback appends a history entry with the
next id. An Application's target is "HEAD", which moves to each revision synced (as if it had
just been pushed), so a sync leaves it Synced and a rollback OutOfSync, as in Argo; with a
fixed ``target_revision`` a sync to another revision leaves it OutOfSync too.

An Application added with ``git_shas=True`` has a Git source as Argo records one: each revision
named (a tag, say "v1") resolves to its own commit ``FakeArgoCD.sha("v1")``, and history, the
sync status and the operation's result carry that SHA, while ``revision()`` still names it "v1".
The metadata endpoint answers Argo's RevisionMetadata ``{author, date, tags, message}`` of such
a commit, tagged with its name unless ``set_tags`` says otherwise (``tags`` left out when it has
none); as Argo, it answers 500 for a revision that is not a SHA ("revision … must be resolved")
or a commit its repo server cannot fetch (an unknown one, or in ``unreadable_revisions``).

Trouble on demand: ``operation_delay`` holds each sync and rollback that many seconds before
Argo starts the operation and answers; :meth:`FakeArgoCD.fail_reads` answers the next GETs of
an Application with an error status and no body, as a gateway in front of a restarting Argo does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .http_server import BackgroundServer, Served

Json = dict[str, Any]
_PREFIX = "/api/v1/applications/{name}"
_UNAUTHENTICATED, _PERMISSION_DENIED, _NOT_FOUND = 16, 7, 5
_INVALID_ARGUMENT, _FAILED_PRECONDITION, _UNKNOWN, _INTERNAL = 3, 9, 2, 13
_RESOLVED = re.compile(r"[0-9A-Fa-f]{7,40}")  # what Argo's repo server takes for a commit SHA
_NOTHING_TO_TERMINATE = "Unable to terminate operation. No operation is in progress"
_APPLY_FAILED = "one or more objects failed to apply, reason"


class _Refused(Exception):
    """An Argo-shaped error answer."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, "code": code, "message": message}


@dataclass
class _Operation:
    kind: str  # "sync" or "rollback"
    revision: str  # as asked: the operation's sync.revision
    source: Json
    started: float
    name: str  # the revision as tests name it ("v2")
    resolved: str  # as Argo records it: a commit SHA for a Git source
    terminating: bool = False


@dataclass
class _Commit:
    name: str
    tags: list[str]
    when: float = field(default_factory=time.time)


@dataclass
class _App:
    name: str
    live: str
    head: str  # what the target resolves to
    target: str  # spec.source.targetRevision
    automated: bool
    git: bool = False  # history and status carry commit SHAs
    history: list[Json] = field(default_factory=list)
    op: _Operation | None = None
    op_state: Json | None = None
    rolled: tuple[float, str] | None = None  # (when a rollout began, its revision)
    reconciled: float = field(default_factory=time.time)

    @property
    def source(self) -> Json:
        repo = "https://git.example.com/deploy.git"
        return {"repoURL": repo, "path": self.name, "targetRevision": self.target}


_Act = Callable[["_App", Json | None], "_App | Json"]


class FakeArgoCD(Served):
    """``with FakeArgoCD(token="t") as argo:`` serves Argo CD's API at ``argo.url``."""

    def __init__(
        self, token: str = "t", op_seconds: float = 0.3, rollout_seconds: float = 0.3
    ) -> None:
        self.token = token
        self.op_seconds, self.rollout_seconds = op_seconds, rollout_seconds
        self.degraded_revisions: set[str] = set()  # become Degraded instead of Healthy
        self.failing_revisions: set[str] = set()  # their sync or rollback operation fails
        self.missing_status = 403  # Argo answers 403 for an Application that does not exist
        self.unreadable_revisions: set[str] = set()  # their commit's metadata cannot be read
        self.operation_delay = 0.0  # seconds a sync or rollback waits before it starts
        self._failing_reads = (0, 503)  # (Application GETs left to fail, their status)
        self.calls: list[tuple[str, str, Json | None]] = []  # (method, path, JSON body)
        self._apps: dict[str, _App] = {}
        self._commits: dict[str, _Commit] = {}  # by SHA
        self._lock = threading.Lock()
        route = [
            Route(_PREFIX, self._get, methods=["GET"]),
            Route(_PREFIX + "/sync", self._sync, methods=["POST"]),
            Route(_PREFIX + "/rollback", self._rollback, methods=["POST"]),
            Route(_PREFIX + "/operation", self._terminate, methods=["DELETE"]),
            Route(_PREFIX + "/revisions/{revision}/metadata", self._metadata, methods=["GET"]),
        ]
        self._server = BackgroundServer(Starlette(routes=route))

    @property
    def url(self) -> str:
        return self._server.url

    # -- what tests set up and look at ----------------------------------------------------

    def add_application(
        self,
        name: str,
        revision: str = "v1",
        automated: bool = False,
        target_revision: str = "HEAD",
        history: Sequence[str] = (),
        git_shas: bool = False,
    ) -> None:
        """An Application Synced and Healthy at ``revision``, after ``history`` (oldest first).

        With ``git_shas``, Argo records each revision as the SHA of a commit tagged with it.
        """
        head = revision if target_revision == "HEAD" else target_revision
        app = _App(name, revision, head, target_revision, automated, git_shas)
        with self._lock:
            for earlier in [*history, revision]:
                app.history.append(_entry(len(app.history), self._record(app, earlier), app.source))
            self._apps[name] = app

    @staticmethod
    def sha(revision: str) -> str:
        """The commit SHA that ``revision`` resolves to for an Application with ``git_shas``."""
        return hashlib.sha1(revision.encode()).hexdigest()

    def set_tags(self, revision: str, *tags: str) -> None:
        """Tag ``revision``'s commit with ``tags`` only (none: untagged), moving them off others."""
        with self._lock:
            for commit in self._commits.values():
                commit.tags = [tag for tag in commit.tags if tag not in tags]
            self._commit(revision).tags = list(tags)

    def fail_reads(self, times: int, status: int = 503) -> None:
        """The next ``times`` GETs of an Application are answered ``status``, with no body."""
        with self._lock:
            self._failing_reads = (times, status)

    def set_automated(self, name: str, automated: bool) -> None:
        with self._lock:
            self._apps[name].automated = automated

    def revision(self, name: str) -> str:
        """The revision live in the cluster now."""
        with self._lock:
            return self._advanced(name).live

    def history(self, name: str) -> list[Json]:
        with self._lock:
            return [dict(entry) for entry in self._advanced(name).history]

    def application(self, name: str) -> Json:
        """The Application exactly as GET would answer it now."""
        with self._lock:
            return self._json(self._advanced(name))

    def reset(self) -> None:
        """No Applications, calls, commits or special revisions; default timings."""
        with self._lock:
            self._apps.clear()
            self.calls.clear()
            self._commits.clear()
        self.degraded_revisions.clear()
        self.failing_revisions.clear()
        self.unreadable_revisions.clear()
        self.op_seconds = self.rollout_seconds = 0.3
        self.missing_status = 403
        self.operation_delay, self._failing_reads = 0.0, (0, 503)

    # -- the API ------------------------------------------------------------------------

    async def _get(self, request: Request) -> Response:
        with self._lock:
            left, status = self._failing_reads
            if left:
                self._failing_reads = (left - 1, status)
                self.calls.append((request.method, request.url.path, None))
                return Response(status_code=status)
        return await self._answer(request, lambda app, body: app)

    async def _sync(self, request: Request) -> JSONResponse:
        return await self._answer(request, self._start_sync, self.operation_delay)

    async def _rollback(self, request: Request) -> JSONResponse:
        return await self._answer(request, self._start_rollback, self.operation_delay)

    async def _metadata(self, request: Request) -> JSONResponse:
        revision = request.path_params["revision"]
        return await self._answer(request, lambda app, body: self._revision_metadata(revision))

    async def _terminate(self, request: Request) -> JSONResponse:
        def terminate(app: _App, body: Json | None) -> Json:
            if app.op is None or app.op_state is None:
                raise _Refused(400, _INVALID_ARGUMENT, _NOTHING_TO_TERMINATE)
            app.op.terminating = True
            app.op_state["phase"] = "Terminating"
            return {}

        return await self._answer(request, terminate)

    async def _answer(self, request: Request, act: _Act, delay: float = 0.0) -> JSONResponse:
        raw = await request.body()
        body: Json | None = json.loads(raw) if raw else None
        name = request.path_params["name"]
        with self._lock:
            self.calls.append((request.method, request.url.path, body))
        await asyncio.sleep(delay)
        with self._lock:
            try:
                self._authenticate(request.headers.get("authorization", ""))
                if name not in self._apps:
                    raise self._missing(name)
                result = act(self._advanced(name), body)
                return JSONResponse(self._json(result) if isinstance(result, _App) else result)
            except _Refused as refused:
                return JSONResponse(refused.body, status_code=refused.status)

    def _authenticate(self, header: str) -> None:
        if not header:
            raise _Refused(401, _UNAUTHENTICATED, "no session information")
        if header != f"Bearer {self.token}":
            raise _Refused(401, _UNAUTHENTICATED, "invalid session: token signature is invalid")

    def _missing(self, name: str) -> _Refused:
        if self.missing_status == 404:
            message = f'applications.argoproj.io "{name}" not found'
            return _Refused(404, _NOT_FOUND, message)
        return _Refused(403, _PERMISSION_DENIED, "permission denied")

    def _start_sync(self, app: _App, body: Json | None) -> _App:
        asked = str((body or {}).get("revision") or "")
        if app.automated and asked and asked != app.target:
            message = f"Cannot sync to {asked}: auto-sync currently set to {app.target}"
            raise _Refused(400, _FAILED_PRECONDITION, message)
        revision = asked or app.head
        name = self._named(revision)
        op = _Operation("sync", revision, app.source, time.time(), name, self._record(app, name))
        return self._begin(app, op)

    def _start_rollback(self, app: _App, body: Json | None) -> _App:
        if app.automated:
            message = "rollback cannot be initiated when auto-sync is enabled"
            raise _Refused(400, _FAILED_PRECONDITION, message)
        wanted = int((body or {}).get("id", -1))
        entry = next((e for e in app.history if e["id"] == wanted), None)
        if entry is None:
            message = f"application {app.name} does not have deployment with id {wanted}"
            raise _Refused(400, _INVALID_ARGUMENT, message)
        revision, source, now = entry["revision"], entry["source"], time.time()
        operation = _Operation("rollback", revision, source, now, self._named(revision), revision)
        return self._begin(app, operation)

    def _begin(self, app: _App, op: _Operation) -> _App:
        if app.op is not None:
            message = "another operation is already in progress"
            raise _Refused(400, _FAILED_PRECONDITION, message)
        app.op = op
        app.op_state = {
            "operation": _operation_json(op),
            "phase": "Running",
            "message": f"waiting for healthy state of apps/Deployment/{app.name}",
            "startedAt": _stamp(op.started),
            "syncResult": {"revision": op.resolved, "source": op.source},
        }
        return app

    # -- Git commits (lock held) ---------------------------------------------------------

    def _commit(self, name: str) -> _Commit:
        """The commit that ``name`` resolves to, made (tagged ``name``) if new."""
        return self._commits.setdefault(self.sha(name), _Commit(name, [name]))

    def _record(self, app: _App, name: str) -> str:
        """``name`` as Argo records it for ``app``: its commit's SHA for a Git source."""
        if not app.git:
            return name
        self._commit(name)
        return self.sha(name)

    def _named(self, revision: str) -> str:
        """A recorded revision as tests name it."""
        commit = self._commits.get(revision)
        return commit.name if commit else revision

    def _revision_metadata(self, revision: str) -> Json:
        if not _RESOLVED.fullmatch(revision):
            raise _Refused(500, _UNKNOWN, f"revision {revision} must be resolved")
        commit = self._commits.get(revision)
        if commit is None or commit.name in self.unreadable_revisions:
            fetch = f"`git fetch origin {revision} --tags --force --prune` failed exit status 128"
            why = f"{fetch}: fatal: remote error: upload-pack: not our ref {revision}"
            raise _Refused(500, _INTERNAL, f"Failed to checkout revision {revision}: {why}")
        author = "Release Bot <release@example.com>"
        answer: Json = {"author": author, "date": _stamp(commit.when)}
        answer |= {"tags": list(commit.tags)} if commit.tags else {}
        return answer | {"message": f"Release {commit.name}"}

    # -- time moving on -----------------------------------------------------------------

    def _advanced(self, name: str) -> _App:
        """The Application, with any operation whose time is up finished (lock held)."""
        app = self._apps[name]
        op, now = app.op, time.time()
        if op is None or app.op_state is None:
            return app
        if not op.terminating and now - op.started < self.op_seconds:
            return app
        finished = now if op.terminating else op.started + self.op_seconds
        if op.terminating:
            phase, message = "Failed", "Operation terminated"
        elif op.name in self.failing_revisions:
            phase, message = "Failed", f"{_APPLY_FAILED}: Deployment {app.name!r} is invalid"
        else:
            phase, message = "Succeeded", "successfully synced (all tasks run)"
            app.live, app.rolled = op.name, (finished, op.name)
            if op.kind == "sync" and app.target == "HEAD":
                app.head = op.name
            app.history.append(_entry(len(app.history), op.resolved, op.source, finished))
        app.op_state.update(phase=phase, message=message, finishedAt=_stamp(finished))
        app.op, app.reconciled = None, finished
        return app

    def _health(self, app: _App) -> tuple[str, str]:
        if app.rolled is None:
            return "Healthy", ""
        began, revision = app.rolled
        if time.time() - began < self.rollout_seconds:
            return "Progressing", "Waiting for rollout to finish: 0 of 1 updated replicas available"
        if revision in self.degraded_revisions:
            return "Degraded", f'Deployment "{app.name}" exceeded its progress deadline'
        return "Healthy", ""

    def _json(self, app: _App) -> Json:
        health, message = self._health(app)
        sync = "Synced" if app.live == app.head else "OutOfSync"
        head, compared = self._record(app, app.head), {"source": app.source}
        status: Json = {
            "sync": {"status": sync, "revision": head, "comparedTo": compared},
            "health": {"status": health},
            "history": [dict(entry) for entry in app.history],
            "reconciledAt": _stamp(app.reconciled),
            "resources": [_deployment(app.name, sync, health, message)],
        }
        if app.op_state is not None:
            status["operationState"] = json.loads(json.dumps(app.op_state))
        spec = {
            "project": "default",
            "source": app.source,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
            "syncPolicy": {"automated": {}} if app.automated else {},
        }
        answer: Json = {"metadata": {"name": app.name, "namespace": "argocd"}, "spec": spec}
        if app.op is not None:
            answer["operation"] = _operation_json(app.op)
        return answer | {"status": status}


def _operation_json(op: _Operation) -> Json:
    sync: Json = {"revision": op.revision, "prune": False}
    if op.kind == "rollback":
        sync["source"] = op.source
    return {"sync": sync, "initiatedBy": {"username": "admin"}}


def _entry(number: int, revision: str, source: Json, when: float | None = None) -> Json:
    stamp = _stamp(time.time() if when is None else when)
    return {
        "id": number,
        "revision": revision,
        "deployedAt": stamp,
        "deployStartedAt": stamp,
        "source": dict(source),
        "initiatedBy": {"username": "admin"},
    }


def _deployment(name: str, sync: str, health: str, message: str) -> Json:
    state: Json = {"status": health} | ({"message": message} if message else {})
    kind = {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "default"}
    return kind | {"name": name, "status": sync, "health": state}


def _stamp(when: float) -> str:
    """Kubernetes' metav1.Time: RFC 3339, whole seconds, UTC."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
