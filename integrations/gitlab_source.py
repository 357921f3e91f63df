"""A service's code in GitLab, as a CodeSource (bot/ports/source.py): the changelog and lead
time of a release, and what its default branch saw in a period.

Upstream, through python-gitlab (https://python-gitlab.readthedocs.io/en/stable/) over
GitLab's REST API v4, each call in a thread:

- Repositories (https://docs.gitlab.com/api/repositories/#compare-branches-tags-or-commits):
  ``GET /projects/:id/repository/compare?from=&to=``, the commits of a release.
- Commits (https://docs.gitlab.com/api/commits/): ``GET /projects/:id/repository/commits
  ?ref_name=`` (a first release: its newest commits) and ``GET /projects/:id/repository/
  commits/:sha/merge_requests`` (the merge requests that brought a commit), also
  ``GET .../commits/:ref`` to tell which of two refs GitLab does not know.
- Tags (https://docs.gitlab.com/api/tags/#get-a-single-repository-tag):
  ``GET /projects/:id/repository/tags/:tag_name``, the commit a version's tag names now.
- Projects (https://docs.gitlab.com/api/projects/#get-a-single-project): the default branch.
- Merge requests (https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests):
  ``GET /projects/:id/merge_requests?state=merged&target_branch=&updated_after=``, counted by
  ``merged_at``.
- Pipelines (https://docs.gitlab.com/api/pipelines/): the default branch's pipelines in a
  period, each one's ``coverage`` and its test report summary
  (``GET /projects/:id/pipelines/:pid/test_report_summary``).

Every failure is a SourceUnavailable saying why in a few words ("GitLab unreachable", "tag v9
not found", "credentials refused"); the token never shows.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError
from gitlab.v4.objects import Project

from bot.ports.source import BranchFigures, Changes, Commit, MergeRequest, SourceUnavailable
from integrations.gitlab_client import reason

T = TypeVar("T")

FIRST_RELEASE_COMMITS = 20  # a first release lists its newest commits, this many
MERGE_REQUEST_LOOKUPS = 40  # commits (newest first) whose merge requests are looked up
PIPELINES_LOOKED_AT = 20  # the newest pipelines of a period whose tests are read
CALL_SECONDS = 60.0  # one answer's calls to GitLab stop after this, however many are left
_HTTP_TIMEOUT = 10.0
# GitLab's calls get threads of their own: a slow GitLab never takes the threads deploys run
# in (Ansible, the Kubernetes client share asyncio's default pool).
_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gitlab-source")


class GitLabSource:
    """The CodeSource of the projects one GitLab token can see."""

    def __init__(self, url: str, token: str) -> None:
        self._gl = gitlab.Gitlab(url, private_token=token, timeout=_HTTP_TIMEOUT)

    def close(self) -> None:
        self._gl.session.close()

    async def changes(self, project: str, older: str | None, newer: str) -> Changes:
        return await self._in_thread(lambda: self._changes(project, older, newer))

    async def branch_figures(self, project: str, since: float, until: float) -> BranchFigures:
        return await self._in_thread(lambda: self._branch_figures(project, since, until))

    async def commit_of(self, project: str, tag: str) -> Commit:
        return await self._in_thread(lambda: self._commit_of(project, tag))

    async def _in_thread(self, call: Callable[[], T]) -> T:
        deadline = time.monotonic() + CALL_SECONDS
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_THREADS, self._translated, call, deadline)

    # In a thread

    def _changes(self, project: str, older: str | None, newer: str) -> Changes:
        found = self._project(project)
        if older is None:
            raw, compare_url = self._first(found, newer), f"{found.web_url}/-/commits/{newer}"
        else:
            compared = self._compare(found, older, newer)
            raw = compared.get("commits") or []
            compare_url = _compare_url(found, compared, older, newer)
        commits = tuple(_commit(c) for c in raw)
        return Changes(commits, self._merge_requests(found, commits), compare_url)

    def _commit_of(self, project: str, tag: str) -> Commit:
        try:
            found = self._project(project).tags.get(tag)
        except GitlabError as error:
            if error.response_code != 404:
                raise
            raise SourceUnavailable(_not_found([tag])) from error
        return _commit(found.commit)

    def _first(self, project: Project, newer: str) -> list[dict[str, Any]]:
        """The newest commits of ``newer``, oldest first."""
        try:
            listed = project.commits.list(ref_name=newer, per_page=FIRST_RELEASE_COMMITS, page=1)
        except GitlabError as error:
            if error.response_code != 404:
                raise
            raise SourceUnavailable(_not_found([newer])) from error
        if not listed and not self._known(project, newer):
            raise SourceUnavailable(_not_found([newer]))
        return [c.attributes for c in reversed(listed)]

    def _compare(self, project: Project, older: str, newer: str) -> dict[str, Any]:
        try:
            compared = project.repository_compare(older, newer)
            return compared if isinstance(compared, dict) else {}
        except GitlabError as error:
            if error.response_code != 404:
                raise
            missing = [ref for ref in (newer, older) if not self._known(project, ref)]
            raise SourceUnavailable(_not_found(missing or [newer])) from error

    def _known(self, project: Project, ref: str) -> bool:
        try:
            project.commits.get(ref)
        except GitlabError as error:
            if error.response_code == 404:
                return False
            raise
        return True

    def _merge_requests(
        self, project: Project, commits: Iterable[Commit]
    ) -> tuple[MergeRequest, ...]:
        found: dict[int, MergeRequest] = {}
        for commit in list(commits)[::-1][:MERGE_REQUEST_LOOKUPS]:
            found_commit = project.commits.get(commit.sha, lazy=True)
            listed = _in_time(found_commit.merge_requests, get_all=True)
            for raw in listed:
                if raw.get("state") == "merged" and raw["iid"] not in found:
                    found[raw["iid"]] = _merge_request(raw)
        return tuple(sorted(found.values(), key=lambda mr: (mr.merged_at, mr.iid)))

    def _branch_figures(self, project: str, since: float, until: float) -> BranchFigures:
        found = self._project(project)
        branch = found.default_branch
        merged = found.mergerequests.list(
            state="merged", target_branch=branch, updated_after=_iso(since), get_all=True
        )
        merges = sum(1 for mr in merged if since <= _epoch(mr.merged_at) < until)
        pipelines = found.pipelines.list(
            ref=branch, updated_after=_iso(since), updated_before=_iso(until),
            per_page=PIPELINES_LOOKED_AT, page=1,
        )  # fmt: skip
        looked = [_in_time(found.pipelines.get, p.id) for p in pipelines]
        totals = [_in_time(p.test_report_summary.get).total for p in looked]
        return BranchFigures(
            merges=merges,
            test_pass_rate=_pass_rate(totals),
            coverage=_mean(float(p.coverage) for p in looked if p.coverage is not None),
            pipelines=len(looked),
        )

    def _project(self, project: str) -> Project:
        try:
            return self._gl.projects.get(project)
        except GitlabError as error:
            if error.response_code == 404:
                raise SourceUnavailable(f"project {project} not found") from error
            raise

    def _translated(self, call: Callable[[], T], deadline: float) -> T:
        _DEADLINE.at = deadline
        try:
            return call()
        except requests.RequestException as error:
            raise SourceUnavailable("GitLab unreachable") from error
        except GitlabError as error:
            raise SourceUnavailable(_why(error)) from error


_DEADLINE = threading.local()  # when the current thread's answer must be given by


def _in_time(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One more call of an answer that makes many, unless the answer's time is up."""
    if time.monotonic() > getattr(_DEADLINE, "at", float("inf")):
        raise SourceUnavailable("GitLab too slow")
    return call(*args, **kwargs)


def _why(error: GitlabError) -> str:
    code = error.response_code
    if isinstance(error, GitlabAuthenticationError) or code in (401, 403):
        return "credentials refused"
    if code is None or code >= 500:
        return "GitLab unreachable"
    return f"GitLab answered {code} {reason(error)}"


def _not_found(refs: list[str]) -> str:
    """``tag v9 not found``, ``tags v9 and v8 not found``."""
    return f"tag{'s' if len(refs) > 1 else ''} {' and '.join(refs)} not found"


def _compare_url(project: Project, compared: dict[str, Any], older: str, newer: str) -> str:
    return str(compared.get("web_url") or f"{project.web_url}/-/compare/{older}...{newer}")


def _commit(raw: dict[str, Any]) -> Commit:
    return Commit(
        sha=raw["id"],
        title=raw.get("title") or "",
        author=raw.get("author_name") or "",
        committed_at=_epoch(raw.get("committed_date") or raw.get("created_at")),
        url=raw.get("web_url") or "",
    )


def _merge_request(raw: dict[str, Any]) -> MergeRequest:
    return MergeRequest(
        iid=int(raw["iid"]),
        title=raw.get("title") or "",
        author=(raw.get("author") or {}).get("username", ""),
        url=raw.get("web_url") or "",
        merged_at=_epoch(raw.get("merged_at")),
    )


def _pass_rate(totals: Iterable[dict[str, Any]]) -> float | None:
    counted = [(int(t.get("success", 0)), int(t["count"])) for t in totals if t.get("count")]
    if not counted:
        return None
    return sum(passed for passed, _ in counted) / sum(count for _, count in counted)


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return sum(found) / len(found) if found else None


def _epoch(stamp: str | None) -> float:
    """GitLab's ISO 8601 time (``2026-12-01T09:30:00.000+08:00`` or ``...Z``); 0 when none."""
    if not stamp:
        return 0.0
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
