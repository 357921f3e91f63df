"""In-process stand-ins for the domain's outbound ports (Notifier, JobQueue, Directory, a
deployer's ProgressSink), for unit tests that need no Slack: they record what they were told."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.models import DeployRequest
from bot.ports.deployer import Progress
from bot.ports.notify import MetricsJob, Upload
from bot.ports.source import BranchFigures, Changes, Commit, SourceUnavailable


@dataclass
class RecordingNotifier:
    shown: list[str] = field(default_factory=list)
    told: list[tuple[str, str, str]] = field(default_factory=list)
    threads: list[tuple[str, str]] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)  # ended runs' notes
    notes: list[str] = field(default_factory=list)  # notes posted or updated
    undid: list[tuple[str, str]] = field(default_factory=list)  # (undone, by rollback)
    posted: list[tuple[str, str]] = field(default_factory=list)  # (channel, text)
    uploads: list[tuple[str, Upload]] = field(default_factory=list)
    views: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (trigger_id, view)

    async def show(self, request_id: str, *, final: bool = False) -> None:
        self.shown.append(request_id)

    async def tell(self, channel: str, user: str, text: str) -> None:
        self.told.append((channel, user, text))

    async def thread(self, request: DeployRequest, text: str) -> None:
        self.threads.append((request.id, text))

    async def release_note(self, request_id: str) -> None:
        self.notes.append(request_id)

    async def released(self, request: DeployRequest) -> None:
        self.releases.append(request.id)

    async def undone(self, request_id: str, by: DeployRequest) -> None:
        self.undid.append((request_id, by.id))

    async def post_blocks(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None
    ) -> str | None:
        self.posted.append((channel, text))
        return f"{len(self.posted)}.000000"

    async def upload_file(self, channel: str, upload: Upload) -> bool:
        self.uploads.append((channel, upload))
        return True

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        self.views.append((trigger_id, view))
        return True


@dataclass
class FixedSource:
    """A CodeSource that answers ``changes`` with what the test set (or raises
    SourceUnavailable(``down``) when set), and records what it was asked."""

    changes_given: Changes = field(default_factory=lambda: Changes((), (), ""))
    down: str = ""
    asked: list[tuple[str, str | None, str]] = field(default_factory=list)
    gate: asyncio.Event | None = None  # set: answers only once the test opens it (a slow GitLab)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> the sha commit_of answers

    async def changes(self, project: str, older: str | None, newer: str) -> Changes:
        self.asked.append((project, older, newer))
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise SourceUnavailable(self.down)
        return self.changes_given

    async def branch_figures(self, project: str, since: float, until: float) -> BranchFigures:
        return BranchFigures(merges=0, test_pass_rate=None, coverage=None, pipelines=0)

    async def commit_of(self, project: str, tag: str) -> Commit:
        if self.down:
            raise SourceUnavailable(self.down)
        if tag not in self.tags:
            raise SourceUnavailable(f"tag {tag} not found")
        return Commit(sha=self.tags[tag], title="", author="", committed_at=0.0)


@dataclass
class RecordingQueue:
    started: list[str] = field(default_factory=list)
    announced: list[str] = field(default_factory=list)
    external: list[tuple[int, int]] = field(default_factory=list)
    metrics_jobs: list[MetricsJob] = field(default_factory=list)
    later: list[tuple[str, float]] = field(default_factory=list)

    async def start(self, request_id: str) -> None:
        self.started.append(request_id)

    async def start_at(self, request_id: str, at: float) -> None:
        self.later.append((request_id, at))

    async def announce(self, request_id: str) -> None:
        self.announced.append(request_id)

    async def record_external(self, project_id: int, deployment_id: int) -> None:
        self.external.append((project_id, deployment_id))

    async def metrics(self, job: MetricsJob) -> None:
        self.metrics_jobs.append(job)

    def handover(self, request_id: str) -> None:
        """Recorded jobs are not stored with the request: it is announced or started after."""
        return None


@dataclass
class FixedDirectory:
    """Group membership as the test says; None for a group means Slack could not be asked."""

    groups: dict[str, set[str] | None] = field(default_factory=dict)

    async def groups_of(
        self, user: str, groups: list[str], seconds: float | None = None
    ) -> set[str] | None:
        found = set()
        for group in groups:
            members = self.groups.get(group, set())
            if members is None:
                return None
            if user in members:
                found.add(group)
        return found

    async def warm(self, groups: list[str]) -> None:
        """Nothing to look up: the test said who is in which group."""


class ProgressRecorder:
    """A ProgressSink that remembers what it was told, and on which thread."""

    def __init__(self) -> None:
        self.events: list[Progress] = []
        self.threads: set[int] = set()

    async def __call__(self, progress: Progress) -> None:
        self.events.append(progress)
        self.threads.add(threading.get_ident())

    @property
    def messages(self) -> list[str]:
        return [event.message for event in self.events]
