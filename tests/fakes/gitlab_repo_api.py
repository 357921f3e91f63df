"""FakeGitLab's repository endpoints and the JSON they answer with, shaped as GitLab documents:
Repositories' compare (https://docs.gitlab.com/api/repositories/#compare-branches-tags-or-commits),
Tags (https://docs.gitlab.com/api/tags/#get-a-single-repository-tag: one tag and its commit),
Commits (https://docs.gitlab.com/api/commits/: list, get one, its merge requests), Merge
requests (https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests), and
Pipelines (https://docs.gitlab.com/api/pipelines/: list, test report summary).

A mixin of FakeGitLab: each handler gets the request and the project (or the commit / pipeline
the path names), under the state's lock, as gitlab_api's do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .gitlab_repo import FakeCommit, FakeMergeRequest, FakeRepository, RepositoryState
from .gitlab_shapes import iso, page, user_json, web
from .gitlab_state import FakePipeline, FakeProject

Handler = Callable[..., Response]
FoundCommit = tuple[FakeProject, FakeCommit]
FoundTag = tuple[FakeProject, str, FakeCommit]  # the project, the tag's name, its commit


class RepositoryRoutes(RepositoryState):
    url: str  # FakeGitLab's, where these routes are served

    def _repository_routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/repository/compare", self._compare),
            ("GET", "/repository/commits", self._list_commits),
            ("GET", r"/repository/commits/(?P<commit>[^/]+)", self._get_commit),
            ("GET", r"/repository/commits/(?P<commit>[^/]+)/merge_requests", self._commit_mrs),
            ("GET", r"/repository/tags/(?P<tag>[^/]+)", self._get_tag),
            ("GET", "/merge_requests", self._list_merge_requests),
            ("GET", "/pipelines", self._list_pipelines),
            ("GET", r"/pipelines/(?P<pipeline>\d+)/test_report_summary", self._test_summary),
        ]

    def _repository(self, project: FakeProject) -> FakeRepository:
        return self.repositories.get(project.id) or FakeRepository()

    def _project_commit(self, project: FakeProject, ref: str) -> FoundCommit | None:
        repository = self._repository(project)
        index = repository.index(ref)
        return None if index is None else (project, repository.commits[index])

    def _project_tag(self, project: FakeProject, name: str) -> FoundTag | None:
        repository = self._repository(project)
        sha = repository.tags.get(name)
        index = repository.index(sha) if sha else None
        return None if index is None else (project, name, repository.commits[index])

    def _get_tag(self, request: Request, body: Any, found: FoundTag) -> Response:
        project, name, commit = found
        answer = {
            "name": name,
            "message": "",
            "target": commit.sha,
            "commit": self._commit_json(project, commit),
            "release": None,
            "protected": False,
            "created_at": None,
        }
        return JSONResponse(answer)

    def _compare(self, request: Request, body: Any, project: FakeProject) -> Response:
        older, newer = request.query_params.get("from", ""), request.query_params.get("to", "")
        repository = self._repository(project)
        commits = repository.between(older, newer)
        if commits is None:
            return _not_found("Ref")
        ends = (repository.index(older), repository.index(newer))
        shas = [repository.commits[i].sha for i in ends if i is not None]
        answer = {
            "commit": self._commit_json(project, commits[-1]) if commits else None,
            "commits": [self._commit_json(project, c) for c in commits],
            "diffs": [],
            "compare_timeout": False,
            "compare_same_ref": older == newer,
            "web_url": web(self.url, project, f"/-/compare/{shas[0]}...{shas[1]}"),
        }
        return JSONResponse(answer)

    def _list_commits(self, request: Request, body: Any, project: FakeProject) -> Response:
        repository = self._repository(project)
        ref = request.query_params.get("ref_name") or next(iter(project.refs), "")
        commits = repository.up_to(ref) if repository.commits else []
        if commits is None:
            return _not_found("Commit")
        return page(self.url, request, [self._commit_json(project, c) for c in commits])

    def _get_commit(self, request: Request, body: Any, found: FoundCommit) -> Response:
        project, commit = found
        return JSONResponse(self._commit_json(project, commit))

    def _commit_mrs(self, request: Request, body: Any, found: FoundCommit) -> Response:
        project, commit = found
        brought = self._repository(project).brought(commit.sha)
        return JSONResponse([self._merge_request_json(project, mr) for mr in brought])

    def _list_merge_requests(self, request: Request, body: Any, project: FakeProject) -> Response:
        query = request.query_params
        after = _parsed(query.get("updated_after"))
        found = [
            mr
            for mr in self._repository(project).merge_requests
            if query.get("state") in (None, "merged", "all")
            and query.get("target_branch") in (None, mr.target_branch)
            and (after is None or mr.merged_at >= after)
        ]
        newest_first = sorted(found, key=lambda mr: -mr.merged_at)
        return page(
            self.url, request, [self._merge_request_json(project, mr) for mr in newest_first]
        )

    def _list_pipelines(self, request: Request, body: Any, project: FakeProject) -> Response:
        query = request.query_params
        after, before = _parsed(query.get("updated_after")), _parsed(query.get("updated_before"))
        found = [
            p
            for p in self.pipelines
            if p.project is project
            and query.get("ref") in (None, p.ref)
            and (after is None or p.updated_at >= after)
            and (before is None or p.updated_at <= before)
        ]
        newest_first = sorted(found, key=lambda p: -p.id)
        return page(self.url, request, [self._pipeline_item(p) for p in newest_first])

    def _test_summary(self, request: Request, body: Any, pipeline: FakePipeline) -> Response:
        totals = self._repository(pipeline.project).tests.get(pipeline.id)
        total = {
            "time": totals.time if totals else 0,
            "count": totals.count if totals else 0,
            "success": totals.success if totals else 0,
            "failed": totals.failed if totals else 0,
            "skipped": totals.skipped if totals else 0,
            "error": totals.error if totals else 0,
            "suite_error": None,
        }
        suites = []
        if totals:
            suites = [
                {
                    "name": "test",
                    "total_time": totals.time,
                    "total_count": totals.count,
                    "success_count": totals.success,
                    "failed_count": totals.failed,
                    "skipped_count": totals.skipped,
                    "error_count": totals.error,
                    "build_ids": [pipeline.id * 10],
                    "suite_error": None,
                }
            ]
        return JSONResponse({"total": total, "test_suites": suites})

    # Shapes

    def _commit_json(self, project: FakeProject, commit: FakeCommit) -> dict[str, Any]:
        commits = self._repository(project).commits
        index = commits.index(commit)
        email = f"{commit.author}@example.com"
        return {
            "id": commit.sha,
            "short_id": commit.sha[:8],
            "created_at": iso(commit.committed_at),
            "parent_ids": [commits[index - 1].sha] if index else [],
            "title": commit.title,
            "message": commit.title,
            "author_name": commit.author_name,
            "author_email": email,
            "authored_date": iso(commit.committed_at),
            "committer_name": commit.author_name,
            "committer_email": email,
            "committed_date": iso(commit.committed_at),
            "trailers": {},
            "extended_trailers": {},
            "web_url": web(self.url, project, f"/-/commit/{commit.sha}"),
        }

    def _merge_request_json(self, project: FakeProject, mr: FakeMergeRequest) -> dict[str, Any]:
        user = user_json(self.url, mr.author)
        return {
            "id": 1000 + mr.iid,
            "iid": mr.iid,
            "project_id": project.id,
            "title": mr.title,
            "description": "",
            "state": "merged",
            "created_at": iso(mr.merged_at - 3600),
            "updated_at": iso(mr.merged_at),
            "merged_by": user,
            "merge_user": user,
            "merged_at": iso(mr.merged_at),
            "closed_by": None,
            "closed_at": None,
            "target_branch": mr.target_branch,
            "source_branch": f"mr-{mr.iid}",
            "user_notes_count": 0,
            "upvotes": 0,
            "downvotes": 0,
            "author": user,
            "assignees": [],
            "assignee": None,
            "reviewers": [],
            "source_project_id": project.id,
            "target_project_id": project.id,
            "labels": [],
            "draft": False,
            "work_in_progress": False,
            "milestone": None,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "not_open",
            "sha": mr.shas[-1] if mr.shas else None,
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "discussion_locked": None,
            "should_remove_source_branch": True,
            "force_remove_source_branch": False,
            "reference": f"!{mr.iid}",
            "references": {
                "short": f"!{mr.iid}",
                "relative": f"!{mr.iid}",
                "full": f"{project.path}!{mr.iid}",
            },
            "web_url": web(self.url, project, f"/-/merge_requests/{mr.iid}"),
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": None,
                "human_total_time_spent": None,
            },
            "squash": False,
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_conflicts": False,
            "blocking_discussions_resolved": True,
        }

    def _pipeline_item(self, pipeline: FakePipeline) -> dict[str, Any]:
        """A pipeline as the list shows it (without coverage: that is in the single GET)."""
        return {
            "id": pipeline.id,
            "iid": pipeline.id,
            "project_id": pipeline.project.id,
            "sha": pipeline.sha,
            "ref": pipeline.ref,
            "status": pipeline.status,
            "source": "push",
            "name": None,
            "created_at": iso(pipeline.created_at),
            "updated_at": iso(pipeline.updated_at),
            "web_url": web(self.url, pipeline.project, f"/-/pipelines/{pipeline.id}"),
        }


def _parsed(stamp: str | None) -> float | None:
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"message": f"404 {what} Not Found"}, status_code=404)
