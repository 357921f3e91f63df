"""Where a service's code lives, as a Protocol: the commits and merge requests between two
versions (the changelog and lead time), and what the default branch saw in a period (merges,
pipeline tests). integrations/gitlab_source.py answers it with python-gitlab.

A source that cannot answer raises :class:`SourceUnavailable` with a short reason a person can
read ("GitLab unreachable", "tag v9.9 not found"); it never blocks or fails a deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SourceUnavailable(Exception):
    """The source could not answer; ``str()`` says why in a few words."""


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str
    author: str
    committed_at: float  # epoch seconds: when the change was committed (lead time starts)
    url: str = ""


@dataclass(frozen=True)
class MergeRequest:
    iid: int
    title: str
    author: str  # the GitLab username
    url: str
    merged_at: float = 0.0  # epoch seconds; 0 when GitLab did not say


@dataclass(frozen=True)
class Changes:
    """What went out between two versions, oldest commit first."""

    commits: tuple[Commit, ...]
    merge_requests: tuple[MergeRequest, ...]
    compare_url: str  # the full comparison on GitLab's web pages


@dataclass(frozen=True)
class BranchFigures:
    """What the default branch saw in a period."""

    merges: int  # merge requests merged into it
    test_pass_rate: float | None  # passed / total tests of its pipelines; None: no test reports
    coverage: float | None  # mean coverage (percent) of its pipelines; None: none reported
    pipelines: int  # pipelines looked at


class CodeSource(Protocol):
    async def changes(self, project: str, older: str | None, newer: str) -> Changes:
        """The commits in ``newer`` (a tag or ref) and not in ``older`` (all of ``newer``'s
        history when None, capped), with the merge requests that brought them."""

    async def branch_figures(self, project: str, since: float, until: float) -> BranchFigures:
        """Merges into the default branch, and its pipelines' tests, between two instants."""

    async def commit_of(self, project: str, tag: str) -> Commit:
        """The commit ``tag`` names now (SourceUnavailable "tag v9 not found" when none)."""
