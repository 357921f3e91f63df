"""Argo CD deployer: sync an Application to the job's version, or roll it back, and wait.

Upstream: Argo CD's ApplicationService (Get, Sync, Rollback, TerminateOperation, RevisionMetadata)
via ``integrations.argocd_api``: https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/

A run is done as ``argocd app sync`` and ``argocd app rollback`` judge it: our operation has
finished (Argo clears the Application's ``operation`` as ``status.operationState`` completes;
Failed or Error fails the run with Argo's message); the controller has reconciled since
(``status.reconciledAt`` not before ``finishedAt``, so health is not the pre-sync one); health
is Healthy (Degraded fails). A deploy also waits for Synced, but only when the Application's
target resolves to the revision synced: a sync to another revision (a tag while the target is
a branch) leaves it OutOfSync in Argo by design, and so does every rollback.

A rollback uses the newest ``status.history`` entry whose revision is the version (a Helm chart
version, say; never its source's targetRevision, which stays the spec's on a sync to another
revision); else, Git history recording commit SHAs, the newest entry of the commit Argo tags
with it (RevisionMetadata, for at most ``_MAX_LOOKUPS`` commits, passing over any whose tags
Argo cannot give: a tag names one commit, so that may miss it but never picks a wrong one). No
rollback under auto-sync, which would sync straight back.

Our operation is followed by the rules of integrations/follow.py. Once Argo has taken it,
every failure is DeployFailed (the target may have changed), Argo out of reach ``_MISSES``
polls in a row too; and every way out but success (``timeout_seconds`` after the POST, asyncio
cancellation even while the POST is under way, losing track) terminates our operation unless
it was seen to end, so it does not block the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from bot.ports.deployer import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    ProgressSink,
)
from integrations.argocd_api import (
    ApplicationApi,
    Json,
    Lost,
    commit_of,
    degraded_reason,
    history_id,
    op_revision,
    reconciled_since,
    trim,
)
from integrations.follow import Reporter, Rules, Seen, follow
from integrations.urls import has_credentials, without_credentials

log = logging.getLogger(__name__)

_TERMINATE_SECONDS = 3.0  # a cancel or timeout waits no longer than this for Argo
_RUNNING = frozenset({"Running", "Terminating"})
_MISSES = 3  # polls in a row that may fail to reach Argo before the run gives up
_MAX_LOOKUPS = 10  # commits whose tags a rollback may ask for (Argo keeps 10 deployments)


@dataclass(frozen=True)
class ArgoCDDeployer:
    """Syncs (or rolls back) ``application`` on the Argo CD at ``server``, then waits."""

    server: str
    token: str = field(repr=False)
    application: str
    timeout_seconds: int = field(kw_only=True)  # from the catalog, which has the defaults
    poll_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.timeout_seconds < 1 or self.poll_seconds <= 0:
            raise ValueError("timeout_seconds must be at least 1 and poll_seconds positive")

    @property
    def link(self) -> str:
        """The Application's page in the Argo CD UI (never with user:password@)."""
        return f"{without_credentials(self.server).rstrip('/')}/applications/{self.application}"

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Deploy or roll back to ``job.version``; raise DeployError (or a subclass) unless done."""
        if not self.server:
            where = "set ARGOCD_URL or the catalog's argocd.server"
            raise DeployError(f"no Argo CD server for application {self.application}: {where}")
        if has_credentials(self.server):  # the HTTP client would refuse them beside the token
            raise DeployError(
                f"the Argo CD server {without_credentials(self.server)} is given with a user "
                "name and password; shipbot signs in with ARGOCD_TOKEN only, so remove them "
                "from the catalog's argocd.server (or ARGOCD_URL)"
            )
        reporter = Reporter(job.datacenter, report, self.link)
        async with ApplicationApi(self.server, self.token, self.application) as api:
            plan = await self._plan(api, job, reporter)
            operation = _Operation(self, api, job, plan, reporter)
            await follow(operation, self._rules(), reporter)

    def _rules(self) -> Rules:
        first = min(0.1, self.poll_seconds)
        return Rules(
            self.timeout_seconds,
            first,
            self.poll_seconds,
            lost_after=_MISSES,
            missable=Lost,
            cancel_seconds=_TERMINATE_SECONDS,
        )

    async def _plan(self, api: ApplicationApi, job: DeployJob, reporter: Reporter) -> _Plan:
        """What to send Argo: a sync to the version, or a rollback to its history entry."""
        app = await api.application()
        if job.action != "rollback":
            note = f"sync to {job.version} started"
            return _Plan(partial(api.sync, job.version), job.version, note)
        entry, note = await self._history_entry(api, app, job.version, reporter)
        return _Plan(
            partial(api.rollback, history_id(entry)), str(entry.get("revision") or ""), note
        )

    async def _history_entry(
        self, api: ApplicationApi, app: Json, version: str, reporter: Reporter
    ) -> tuple[Json, str]:
        """The newest history entry of ``version`` and its start note, or DeployError."""
        automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
        if automated is not None and automated.get("enabled", True) is not False:
            raise DeployError(
                f"cannot roll back {self.application}: auto-sync is on, and Argo CD would sync it "
                f"straight back to its target revision, undoing the rollback. Disable auto-sync "
                f"for {self.application} in Argo CD and roll back again, or return to {version} "
                "through Git (its targetRevision, or a revert) and let auto-sync deploy it"
            )
        history = (app.get("status") or {}).get("history") or []
        history = sorted(history, key=history_id, reverse=True)
        entry = next((e for e in history if e.get("revision") == version), None)
        if entry is not None:
            return entry, f"rollback to {version} started (history id {history_id(entry)})"
        search = _TagSearch(api, version, history)
        if search.commits:
            await reporter.say(f"looking for the commit tagged {version} in Argo CD", topic="start")
        entry = await search.find()
        if entry is None:
            raise DeployError(search.refusal(self.application))
        note = f"history id {history_id(entry)}, commit {commit_of(entry)[:7]}"
        return entry, f"rollback to {version} started ({note})"


class _TagSearch:
    """Asks Argo CD for the tags of the commits in ``history`` (newest first) for ``version``."""

    def __init__(self, api: ApplicationApi, version: str, history: list[Json]) -> None:
        self._api, self._version, self._history = api, version, history
        self.commits = list(dict.fromkeys(commit for commit in map(commit_of, history) if commit))
        self._seen: dict[str, str] = {}  # commit → how a refusal names it: "1a2b3c4 [v3]"
        self._failure = ""  # why Argo could not give a commit's tags, the first time

    async def find(self) -> Json | None:
        """The newest entry whose commit is tagged ``version``, asking of at most a few."""
        for commit in self.commits[:_MAX_LOOKUPS]:
            tags = await self._tags(commit)
            if tags is not None and self._version in tags:
                return next(entry for entry in self._history if commit_of(entry) == commit)
            label = "tags unknown" if tags is None else ", ".join(tags) or "no tags"
            self._seen[commit] = f"{commit[:7]} [{label}]"
        return None

    def refusal(self, application: str) -> str:
        """Why no entry is ``version``, naming what history has, newest first."""
        had = ", ".join(dict.fromkeys(map(self._label, self._history)))
        known = f"it has: {had}" if had else "its history is empty"
        tagged = f" or of a commit tagged {self._version}" if self._seen else ""
        why = f"; {self._failure}" if self._failure else ""
        return (
            f"cannot roll back {application} to {self._version}: Argo CD's history of it has no "
            f"deployment of {self._version}{tagged} ({known}){why}"
        )

    def _label(self, entry: Json) -> str:
        commit = commit_of(entry)
        unseen = f"{commit[:7]} [not looked up]" if commit else str(entry.get("revision"))
        return self._seen.get(commit, unseen)

    async def _tags(self, commit: str) -> list[str] | None:
        """The commit's tags; None when Argo answered but could not tell, and the search goes on."""
        try:
            metadata = await self._api.revision_metadata(commit)
        except DeployUnreachable:
            raise  # out of reach, or the token refused: no other commit would fare better
        except DeployError as error:
            log.warning("passing over commit %s: %s", commit, error)
            self._failure = self._failure or str(error)
            return None
        return [str(tag) for tag in metadata.get("tags") or []]


@dataclass(frozen=True)
class _Plan:
    """Our operation, ready to send: the request, the revision it aims at, its start note."""

    send: Callable[[], Awaitable[Json]]
    revision: str
    note: str


@dataclass
class _Operation:
    """Argo CD's side of following our sync or rollback (an integrations.follow.Tool)."""

    deployer: ArgoCDDeployer
    api: ApplicationApi
    job: DeployJob
    plan: _Plan
    reporter: Reporter
    revision: str = ""  # the operation's revision, as Argo resolved it
    ended: bool = False  # our operation has finished in Argo: nothing to terminate
    kind: str = field(init=False)

    def __post_init__(self) -> None:
        self.kind = "rollback" if self.job.action == "rollback" else "sync"

    async def start(self) -> Json:
        answer = await self.plan.send()
        self.revision = op_revision(answer) or self.plan.revision
        await self.reporter.say(self.plan.note, topic="start")
        return answer

    async def read(self, started: Json) -> Seen:
        return Seen.DONE if await self._done(await self.api.application()) else Seen.RUNNING

    async def cancel(self, started: Json | None) -> None:
        """Terminate our operation unless it was seen to end (Argo refuses when none runs)."""
        if not self.ended:
            await self.api.terminate()

    def lost(self, started: Json) -> str:
        return f"the {self.kind} was started; shipbot lost track of it: {self.deployer.link}"

    def overdue(self, started: Json | None, last: str) -> str:
        app, seconds = self.deployer.application, self.deployer.timeout_seconds
        return f"application {app} was not done within {seconds}s (last: {last or 'no news'})"

    async def _done(self, app: Json) -> bool:
        status: Json = app.get("status") or {}
        op: Json = status.get("operationState") or {}
        phase = op.get("phase") or ""
        if phase in _RUNNING or app.get("operation") or op_revision(op) != self.revision:
            line = _phase_line(self.kind, op) if phase in _RUNNING else f"{self.kind} pending"
            await self.reporter.say(line, topic="op")
            return False
        self.ended = True
        await self.reporter.say(_phase_line(self.kind, op), phase != "Succeeded", "op")
        if phase != "Succeeded":
            raise DeployFailed(
                f"{self.kind} of application {self.deployer.application} to "
                f"{self.job.version} ended {phase}: {trim(op.get('message') or 'no message')}"
            )
        return reconciled_since(status, op) and await self._healthy(app, status, op)

    async def _healthy(self, app: Json, status: Json, op: Json) -> bool:
        name, health = self.deployer.application, (status.get("health") or {}).get("status")
        if health == "Degraded":
            await self.reporter.say("health Degraded", failed=True, topic="health")
            raise DeployFailed(f"application {name} is Degraded: {degraded_reason(status)}")
        sync: Json = status.get("sync") or {}
        aimed = sync.get("revision") == (op.get("syncResult") or {}).get("revision")
        if health != "Healthy":
            await self.reporter.say(f"health {health or 'Unknown'}", topic="health")
            return False
        if self.kind == "sync" and aimed and sync.get("status") != "Synced":
            line = f"health Healthy, sync {sync.get('status') or 'Unknown'}"
            await self.reporter.say(line, topic="health")
            return False
        if aimed and sync.get("status") == "Synced":
            await self.reporter.say(
                f"{name} Synced and Healthy at {self.job.version}", topic="done"
            )
        else:
            target = ((app.get("spec") or {}).get("source") or {}).get("targetRevision") or "HEAD"
            note = f"OutOfSync: its target is {target}"
            await self.reporter.say(f"{name} Healthy at {self.job.version} ({note})", topic="done")
        return True


def _phase_line(kind: str, op: Json) -> str:
    message = trim(op.get("message") or "")
    return f"{kind} {op.get('phase')}: {message}" if message else f"{kind} {op.get('phase')}"
