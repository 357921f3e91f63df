"""FakeGitLab's repositories: each project's commits (one straight line of history, oldest
first), its tags, its merged merge requests, and its default branch's pipelines with their
coverage and test reports. A mixin of GitLabState, sharing its lock, projects and pipelines.

A tag names a commit of the line; comparing two tags gives the commits after the older up to
the newer, as GitLab's compare does for a history without branches.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gitlab_state mixes this in
    from .gitlab_state import FakePipeline, FakeProject

AUTHORS = {"alice": "Alice Liddell", "bob": "Bob Marley", "carol": "Carol Danvers"}


@dataclass
class FakeCommit:
    sha: str
    title: str
    author: str  # a username (its name is AUTHORS' or the username titled)
    committed_at: float

    @property
    def author_name(self) -> str:
        return AUTHORS.get(self.author, self.author.title())


@dataclass
class FakeMergeRequest:
    iid: int
    title: str
    author: str  # a username
    target_branch: str
    merged_at: float
    shas: list[str]  # the commits it brought


@dataclass(frozen=True)
class ReportTotals:
    """A pipeline's test report summary ``total`` (https://docs.gitlab.com/api/pipelines/)."""

    count: int
    success: int
    failed: int = 0
    skipped: int = 0
    error: int = 0
    time: float = 1.5


@dataclass
class FakeRepository:
    commits: list[FakeCommit] = field(default_factory=list)  # oldest first
    tags: dict[str, str] = field(default_factory=dict)  # name → sha
    merge_requests: list[FakeMergeRequest] = field(default_factory=list)
    tests: dict[int, ReportTotals] = field(default_factory=dict)  # pipeline id → its totals

    def index(self, ref: str) -> int | None:
        """Where ``ref`` (a tag, a sha or its first 8 digits) is in the line."""
        sha = self.tags.get(ref, ref)
        return next((i for i, c in enumerate(self.commits) if c.sha.startswith(sha)), None)

    def between(self, older: str, newer: str) -> list[FakeCommit] | None:
        """The commits in ``newer`` and not in ``older``, oldest first; None: a ref unknown."""
        start, end = self.index(older), self.index(newer)
        if start is None or end is None:
            return None
        return self.commits[start + 1 : end + 1]

    def up_to(self, ref: str) -> list[FakeCommit] | None:
        """``ref``'s history, newest first."""
        end = self.index(ref)
        return None if end is None else self.commits[end::-1]

    def brought(self, sha: str) -> list[FakeMergeRequest]:
        return [mr for mr in self.merge_requests if sha in mr.shas]


class RepositoryState:
    """Test controls that shape the repositories (mixed into GitLabState)."""

    projects: dict[int, FakeProject]
    pipelines: list[FakePipeline]
    _lock: threading.RLock
    _ids: dict[str, itertools.count[int]]

    def __init__(self) -> None:
        self.repositories: dict[int, FakeRepository] = {}
        self._clock = itertools.count(1)

    def commit(
        self, project_id: int, title: str, author: str = "alice", at: float | None = None
    ) -> str:
        """A new commit at the end of the line (``at``: when, default now); returns its sha."""
        with self._lock:
            repository = self.repositories.setdefault(project_id, FakeRepository())
            seed = f"{project_id}:{len(repository.commits)}:{title}:{next(self._clock)}"
            sha = hashlib.sha1(seed.encode()).hexdigest()
            repository.commits.append(FakeCommit(sha, title, author, at or time.time()))
            return sha

    def tag(self, project_id: int, name: str) -> str:
        """Tag the newest commit ``name`` (a ref pipelines may run on too); returns its sha."""
        with self._lock:
            repository = self.repositories.setdefault(project_id, FakeRepository())
            if not repository.commits:
                self.commit(project_id, f"Start {name}")
            sha = repository.commits[-1].sha
            repository.tags[name] = sha
            self.projects[project_id].refs[name] = sha
            return sha

    def merge(
        self,
        project_id: int,
        title: str,
        author: str = "alice",
        commits: int = 1,
        at: float | None = None,
    ) -> int:
        """A merge request of ``commits`` new commits, merged into the default branch at
        ``at`` (default now); returns its iid."""
        with self._lock:
            when = at or time.time()
            shas = [
                self.commit(project_id, f"{title} ({i + 1})", author, when) for i in range(commits)
            ]
            repository = self.repositories[project_id]
            iid = len(repository.merge_requests) + 1  # iids count per project
            branch = next(iter(self.projects[project_id].refs), "main")
            mr = FakeMergeRequest(iid, title, author, branch, when, shas)
            repository.merge_requests.append(mr)
            return iid

    def branch_pipeline(
        self,
        project_id: int,
        tests: ReportTotals | None = None,
        coverage: float | None = None,
        at: float | None = None,
        status: str = "success",
    ) -> int:
        """A finished pipeline of the default branch (``at``: when it ended), with a test
        report and coverage if given; returns its id."""
        from .gitlab_state import FakePipeline

        with self._lock:
            project = self.projects[project_id]
            branch = next(iter(project.refs), "main")
            when = at or time.time()
            pipeline = FakePipeline(
                next(self._ids["pipeline"]), project, branch, project.refs.get(branch, ""), {}, []
            )
            pipeline.status, pipeline.coverage = status, coverage
            pipeline.created_at = pipeline.started_at = when - 60
            pipeline.updated_at = pipeline.finished_at = when
            self.pipelines.append(pipeline)
            repository = self.repositories.setdefault(project_id, FakeRepository())
            if tests is not None:
                repository.tests[pipeline.id] = tests
            return pipeline.id

    def _reset_repositories(self) -> None:
        self.repositories.clear()
