"""GitLabSource against FakeGitLab over real HTTP (no mocks): the commits and merge requests
between two tags, a first release, the default branch's figures, and every way GitLab cannot
answer said in a few words. Then FakeGitLab's repository endpoints answer as GitLab documents."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.ports.source import SourceUnavailable
from integrations import gitlab_source
from integrations.gitlab_source import FIRST_RELEASE_COMMITS, GitLabSource
from tests.fakes.gitlab_api import FakeGitLab, ReportTotals

TOKEN = "glpat-source"
PROJECT = "shop/web"
HOUR = 3600.0


@pytest.fixture(scope="module")
def server() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def gl(server: FakeGitLab) -> FakeGitLab:
    server.reset()
    return server


@pytest.fixture
def project_id(gl: FakeGitLab) -> int:
    """v1: Add cart (two commits, alice); v2: Fix totals (bob), then a commit of carol's."""
    pid = gl.add_project(PROJECT, refs=["main"])
    gl.merge(pid, "Add cart", "alice", commits=2, at=time.time() - 3 * HOUR)
    gl.tag(pid, "v1")
    gl.merge(pid, "Fix totals", "bob", at=time.time() - 2 * HOUR)
    gl.commit(pid, "Bump deps", "carol", at=time.time() - HOUR)
    gl.tag(pid, "v2")
    return pid


@pytest.fixture
def source(gl: FakeGitLab) -> Iterator[GitLabSource]:
    found = GitLabSource(gl.url, TOKEN)
    yield found
    found.close()


async def why_not(source: GitLabSource, project: str, older: str | None, newer: str) -> str:
    with pytest.raises(SourceUnavailable) as raised:
        await source.changes(project, older, newer)
    return str(raised.value)


# Changes between two versions


async def test_changes_are_the_commits_after_the_older_tag(
    source: GitLabSource, project_id: int
) -> None:
    """v1..v2: Fix totals' commit and the bump, oldest first, authors by name."""
    changes = await source.changes(PROJECT, "v1", "v2")
    expected = [("Fix totals (1)", "Bob Marley"), ("Bump deps", "Carol Danvers")]
    assert expected == [(c.title, c.author) for c in changes.commits]


async def test_changes_carry_when_each_commit_was_committed(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """committed_at is the commit's committed_date, in epoch seconds (lead time starts there)."""
    changes = await source.changes(PROJECT, "v1", "v2")
    committed = [c.committed_at for c in gl.repositories[project_id].commits[-2:]]
    assert committed == [pytest.approx(c.committed_at, abs=0.001) for c in changes.commits]


async def test_changes_link_each_commit(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """Each commit links its page on GitLab."""
    changes = await source.changes(PROJECT, "v1", "v2")
    sha = changes.commits[0].sha
    assert f"{gl.url}/{PROJECT}/-/commit/{sha}" == changes.commits[0].url


async def test_changes_name_the_merge_requests_that_brought_them(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """The merged MR of a commit in the range, linked, with its author's username."""
    changes = await source.changes(PROJECT, "v1", "v2")
    expected = [(2, "Fix totals", "bob", f"{gl.url}/{PROJECT}/-/merge_requests/2")]
    assert expected == [(mr.iid, mr.title, mr.author, mr.url) for mr in changes.merge_requests]


async def test_changes_link_the_full_compare(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """The compare URL is GitLab's page comparing the two versions."""
    changes = await source.changes(PROJECT, "v1", "v2")
    tags = gl.repositories[project_id].tags
    assert f"{gl.url}/{PROJECT}/-/compare/{tags['v1']}...{tags['v2']}" == changes.compare_url


async def test_the_same_version_twice_has_no_changes(source: GitLabSource, project_id: int) -> None:
    """Redeploying v2 over v2: nothing between them."""
    changes = await source.changes(PROJECT, "v2", "v2")
    assert ((), ()) == (changes.commits, changes.merge_requests)


async def test_a_first_release_lists_its_newest_commits(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """No older version: v1's history, oldest first, and the link to its commits."""
    changes = await source.changes(PROJECT, None, "v1")
    assert ["Add cart (1)", "Add cart (2)"] == [c.title for c in changes.commits]
    assert f"{gl.url}/{PROJECT}/-/commits/v1" == changes.compare_url


async def test_a_first_release_is_capped(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """A long history gives only its newest commits."""
    for n in range(FIRST_RELEASE_COMMITS + 5):
        gl.commit(project_id, f"change {n}")
    gl.tag(project_id, "v3")
    changes = await source.changes(PROJECT, None, "v3")
    assert FIRST_RELEASE_COMMITS == len(changes.commits)
    assert f"change {FIRST_RELEASE_COMMITS + 4}" == changes.commits[-1].title


# When GitLab cannot answer


async def test_an_unknown_tag_is_named(source: GitLabSource, project_id: int) -> None:
    """A version GitLab does not know: which tag."""
    assert "tag v9 not found" == await why_not(source, PROJECT, "v1", "v9")


async def test_two_unknown_tags_are_both_named(source: GitLabSource, project_id: int) -> None:
    assert "tags v9 and v8 not found" == await why_not(source, PROJECT, "v8", "v9")


async def test_an_unknown_first_release_tag_is_named(source: GitLabSource, project_id: int) -> None:
    assert "tag v9 not found" == await why_not(source, PROJECT, None, "v9")


async def test_an_unknown_project_is_named(source: GitLabSource, project_id: int) -> None:
    assert "project shop/nope not found" == await why_not(source, "shop/nope", "v1", "v2")


async def test_an_answer_that_needs_too_many_calls_stops_in_time(
    source: GitLabSource, project_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its time is up before the merge requests are looked up: too slow, no more calls."""
    monkeypatch.setattr(gitlab_source, "CALL_SECONDS", -1.0)
    assert "GitLab too slow" == await why_not(source, PROJECT, "v1", "v2")


async def test_gitlab_down_is_unreachable(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """GitLab answering 503: unreachable."""
    gl.down = True
    assert "GitLab unreachable" == await why_not(source, PROJECT, "v1", "v2")


async def test_nothing_listening_is_unreachable() -> None:
    """No GitLab at the address at all: unreachable, too."""
    source = GitLabSource("http://127.0.0.1:9", TOKEN)
    assert "GitLab unreachable" == await why_not(source, PROJECT, "v1", "v2")


async def test_a_refused_token_is_said_without_the_token(gl: FakeGitLab, project_id: int) -> None:
    source = GitLabSource(gl.url, "glpat-wrong-token")
    assert "credentials refused" == await why_not(source, PROJECT, "v1", "v2")


# The default branch in a period


async def test_branch_figures_count_merges_in_the_period(
    source: GitLabSource, project_id: int
) -> None:
    """Of MRs merged 3h and 2h ago, a period from 2.5h ago to now holds one."""
    now = time.time()
    figures = await source.branch_figures(PROJECT, now - 2.5 * HOUR, now)
    assert 1 == figures.merges


async def test_branch_figures_read_tests_and_coverage(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """Two pipelines: 9 of 10 and 10 of 10 tests passed, coverage 80 and 90."""
    now = time.time()
    gl.branch_pipeline(project_id, ReportTotals(10, 9, failed=1), coverage=80.0, at=now - 60)
    gl.branch_pipeline(project_id, ReportTotals(10, 10), coverage=90.0, at=now - 30)
    figures = await source.branch_figures(PROJECT, now - HOUR, now)
    assert (2, 0.95, 85.0) == (figures.pipelines, figures.test_pass_rate, figures.coverage)


async def test_branch_figures_leave_out_pipelines_outside_the_period(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    now = time.time()
    gl.branch_pipeline(project_id, ReportTotals(10, 5), coverage=10.0, at=now - 2 * HOUR)
    gl.branch_pipeline(project_id, ReportTotals(4, 4), coverage=70.0, at=now - 60)
    figures = await source.branch_figures(PROJECT, now - HOUR, now)
    assert (1, 1.0, 70.0) == (figures.pipelines, figures.test_pass_rate, figures.coverage)


async def test_branch_figures_without_reports_say_none(
    source: GitLabSource, gl: FakeGitLab, project_id: int
) -> None:
    """Pipelines without a test report or coverage: None, not 0."""
    gl.branch_pipeline(project_id)
    figures = await source.branch_figures(PROJECT, time.time() - HOUR, time.time())
    assert (1, None, None) == (figures.pipelines, figures.test_pass_rate, figures.coverage)


# FakeGitLab's repository, as GitLab documents it


def api(gl: FakeGitLab, tail: str, **params: Any) -> Any:
    url = f"{gl.url}/api/v4/projects/shop%2Fweb{tail}"
    return requests.get(url, headers={"PRIVATE-TOKEN": TOKEN}, params=params, timeout=5)


def test_fake_compare_of_an_unknown_ref_is_404_ref_not_found(
    gl: FakeGitLab, project_id: int
) -> None:
    answer = api(gl, "/repository/compare", **{"from": "v1", "to": "v9"})
    assert (404, {"message": "404 Ref Not Found"}) == (answer.status_code, answer.json())


def test_fake_compare_answers_gitlabs_keys(gl: FakeGitLab, project_id: int) -> None:
    body = api(gl, "/repository/compare", **{"from": "v1", "to": "v2"}).json()
    expected = {"commit", "commits", "diffs", "compare_timeout", "compare_same_ref", "web_url"}
    assert (expected, body["commits"][-1]) == (set(body), body["commit"])


def test_fake_commit_has_the_documented_fields(gl: FakeGitLab, project_id: int) -> None:
    commit = api(gl, "/repository/commits/v2").json()
    for key in ("id", "short_id", "title", "author_name", "committed_date", "web_url"):
        assert commit[key], key
    assert commit["committed_date"].endswith("Z")


def test_fake_unknown_commit_is_404(gl: FakeGitLab, project_id: int) -> None:
    answer = api(gl, "/repository/commits/v9")
    assert (404, {"message": "404 Commit Not Found"}) == (answer.status_code, answer.json())


def test_fake_commits_are_paginated_newest_first(gl: FakeGitLab, project_id: int) -> None:
    answer = api(gl, "/repository/commits", ref_name="v2", per_page=2)
    titles = [c["title"] for c in answer.json()]
    assert (["Bump deps", "Fix totals (1)"], "2") == (titles, answer.headers["X-Total-Pages"])


def test_fake_merge_request_has_the_documented_fields(gl: FakeGitLab, project_id: int) -> None:
    (mr,) = api(gl, "/merge_requests", state="merged", target_branch="main", per_page=1).json()
    assert ("merged", "main", "bob") == (mr["state"], mr["target_branch"], mr["author"]["username"])
    assert mr["merged_at"] and mr["web_url"].endswith("/-/merge_requests/2")


def test_fake_merge_requests_of_another_branch_are_left_out(
    gl: FakeGitLab, project_id: int
) -> None:
    assert [] == api(gl, "/merge_requests", state="merged", target_branch="release").json()


def test_fake_test_report_summary_without_a_report_is_zeros(
    gl: FakeGitLab, project_id: int
) -> None:
    pipeline = gl.branch_pipeline(project_id)
    body = api(gl, f"/pipelines/{pipeline}/test_report_summary").json()
    assert (0, []) == (body["total"]["count"], body["test_suites"])


def test_fake_pipeline_reports_its_coverage_as_a_string(gl: FakeGitLab, project_id: int) -> None:
    """GitLab's single pipeline says ``"coverage": "30.0"``."""
    pipeline = gl.branch_pipeline(project_id, coverage=30.0)
    assert "30.0" == api(gl, f"/pipelines/{pipeline}").json()["coverage"]
