"""GitLabDeployer and describe_deployment against FakeGitLab over real HTTP (no mocks), and
FakeGitLab's own facts: GitLab's documented answers, pagination, progression and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import gitlab
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.ports.deployer import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    pipeline_topic,
)
from integrations.gitlab import GitLabDeployer, GitLabDeployment, describe_deployment
from tests.fakes.gitlab_api import FakeGitLab
from tests.fakes.http_server import BackgroundServer, Served, bound_socket
from tests.fakes.recorders import ProgressRecorder
from tests.waiting import until

TOKEN = "glpat-test"
PROJECT = "group/app"
TIMEOUT = 60  # seconds a pipeline of these tests may take


@pytest.fixture
def gl() -> Iterator[FakeGitLab]:
    with FakeGitLab(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def project_id(gl: FakeGitLab) -> int:
    return gl.add_project(PROJECT, refs=["main", "1.2.3"])


def job(**overrides: Any) -> DeployJob:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "service": "web",
        "version": "1.2.3",
        "environment": "prod",
        "datacenter": "dc-a",
    }
    return DeployJob(**(fields | overrides))


def deployer(gl: FakeGitLab, **overrides: Any) -> GitLabDeployer:
    options: dict[str, Any] = {
        "project": PROJECT,
        "timeout_seconds": TIMEOUT,
        "poll_seconds": 0.01,
        "max_poll_seconds": 0.05,
    }
    return GitLabDeployer(gl.url, TOKEN, **(options | overrides))


class EventWake:
    """A Wake like the worker's: returns when notified about its topic, else after seconds."""

    def __init__(self, on_wait: Callable[[EventWake], None] = lambda wake: None) -> None:
        self.waits: list[tuple[str, float]] = []
        self._news: dict[str, asyncio.Event] = {}
        self._on_wait = on_wait

    async def __call__(self, topic: str, seconds: float) -> None:
        self.waits.append((topic, seconds))
        self._on_wait(self)
        news = self._news.setdefault(topic, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(news.wait(), seconds)

    def notify(self, topic: str) -> None:
        """News keeps coming on ``topic`` from now on."""
        self._news.setdefault(topic, asyncio.Event()).set()


def running(gl: FakeGitLab) -> bool:
    return bool(gl.pipelines) and gl.pipelines[0].status == "running"


def web_url(gl: FakeGitLab, pipeline_id: int = 1001) -> str:
    return f"{gl.url}/{PROJECT}/-/pipelines/{pipeline_id}"


# The pipeline a deploy runs


async def test_pipeline_runs_on_the_version(gl: FakeGitLab, project_id: int) -> None:
    """The pipeline runs on the ref named by the job's version."""
    await deployer(gl).run(job(version="1.2.3"), ProgressRecorder())
    assert ["1.2.3"] == [pipeline.ref for pipeline in gl.pipelines]


async def test_pipeline_gets_shipbot_and_catalog_variables(gl: FakeGitLab, project_id: int) -> None:
    """The catalog's variables reach the pipeline beside SHIPBOT_*, which win on a clash."""
    catalog = {"REGION": "eu", "SHIPBOT_ACTION": "catalog-loses"}
    await deployer(gl, variables=catalog, environment="production-a").run(job(), ProgressRecorder())
    assert {
        "REGION": "eu",
        "SHIPBOT_SERVICE": "web",
        "SHIPBOT_VERSION": "1.2.3",
        "SHIPBOT_ENVIRONMENT": "prod",
        "SHIPBOT_GITLAB_ENVIRONMENT": "production-a",
        "SHIPBOT_DATACENTER": "dc-a",
        "SHIPBOT_REQUEST_ID": "req-1",
        "SHIPBOT_ACTION": "deploy",
    } == gl.pipelines[0].variables


async def test_the_approved_commit_is_a_variable_only_when_known(
    gl: FakeGitLab, project_id: int
) -> None:
    """SHIPBOT_COMMIT carries the job's commit, so the pipeline can deploy exactly it; a job
    without one passes no SHIPBOT_COMMIT."""
    await deployer(gl).run(job(commit="1a2b3c4d5e6f"), ProgressRecorder())
    await deployer(gl).run(job(), ProgressRecorder())
    assert ["1a2b3c4d5e6f", None] == [p.variables.get("SHIPBOT_COMMIT") for p in gl.pipelines]


async def test_rollback_is_a_pipeline_with_action_rollback(gl: FakeGitLab, project_id: int) -> None:
    """A rollback runs a pipeline for the target version with SHIPBOT_ACTION=rollback."""
    await deployer(gl).run(job(action="rollback", version="main"), ProgressRecorder())
    assert [("main", "rollback")] == [(p.ref, p.variables["SHIPBOT_ACTION"]) for p in gl.pipelines]


async def test_project_may_be_a_numeric_id(gl: FakeGitLab, project_id: int) -> None:
    """The catalog may name the project by its numeric id instead of its path."""
    await deployer(gl, project=str(project_id)).run(job(), ProgressRecorder())
    assert [project_id] == [pipeline.project.id for pipeline in gl.pipelines]


# Following it


async def test_success_reports_each_stage_and_job(gl: FakeGitLab, project_id: int) -> None:
    """Each change of the pipeline's stage or job status is reported once, in order."""
    recorder = ProgressRecorder()
    await deployer(gl).run(job(), recorder)
    assert [
        "pipeline #1001 running — stage build: job build running",
        "pipeline #1001 running — stage deploy: job deploy created",
        "pipeline #1001 running — stage deploy: job deploy pending",
        "pipeline #1001 running — stage deploy: job deploy running",
        "pipeline #1001 success",
    ] == recorder.messages


async def test_progress_links_the_pipeline(gl: FakeGitLab, project_id: int) -> None:
    """Every progress event links the pipeline's page in GitLab and names the data centre."""
    recorder = ProgressRecorder()
    await deployer(gl).run(job(datacenter="dc-b"), recorder)
    assert {("dc-b", web_url(gl))} == {(e.datacenter, e.link) for e in recorder.events}


async def test_failed_job_is_named(gl: FakeGitLab, project_id: int) -> None:
    """A failed pipeline fails the deploy, naming the job, its stage and the pipeline."""
    gl.fail_when(datacenter="dc-b")
    with pytest.raises(DeployFailed) as failure:
        await deployer(gl).run(job(datacenter="dc-b"), ProgressRecorder())
    expected = f"pipeline #1001 failed: job deploy failed in stage deploy ({web_url(gl)})"
    assert expected == str(failure.value)


async def test_failure_is_reported_as_failed(gl: FakeGitLab, project_id: int) -> None:
    """The last progress event of a failed pipeline is marked failed."""
    gl.fail_when(job="build")
    recorder = ProgressRecorder()
    with pytest.raises(DeployFailed):
        await deployer(gl).run(job(), recorder)
    last = recorder.events[-1]
    assert ("pipeline #1001 failed — stage build: job build failed", True) == (
        last.message,
        last.failed,
    )


async def test_pipeline_canceled_in_gitlab_fails(gl: FakeGitLab, project_id: int) -> None:
    """A pipeline someone cancels in GitLab fails the deploy and says so."""
    gl.hang()
    run = asyncio.create_task(deployer(gl).run(job(), ProgressRecorder()))
    await until(lambda: running(gl))
    gl.cancel_in_gitlab(1001)
    with pytest.raises(DeployFailed) as failure:
        await run
    assert f"pipeline #1001 was canceled in GitLab ({web_url(gl)})" == str(failure.value)


async def test_manual_job_is_played_when_play_job_is_set(gl: FakeGitLab, project_id: int) -> None:
    """A manual job named by play_job is played once, and the pipeline then succeeds."""
    gl.make_manual("deploy")
    await deployer(gl, play_job="deploy").run(job(), ProgressRecorder())
    plays = [r for r in gl.requests if r.startswith("POST") and r.endswith("/play")]
    assert (["POST /api/v4/projects/1/jobs/5002/play"], "success") == (
        plays,
        gl.pipelines[0].status,
    )


async def test_manual_job_play_is_reported(gl: FakeGitLab, project_id: int) -> None:
    """Starting a manual job is a progress event of its own."""
    gl.make_manual("deploy")
    recorder = ProgressRecorder()
    await deployer(gl, play_job="deploy").run(job(), recorder)
    assert "pipeline #1001: started manual job deploy" in recorder.messages


async def test_manual_job_without_play_job_fails(gl: FakeGitLab, project_id: int) -> None:
    """A pipeline waiting on a manual job shipbot may not start fails at once, with advice."""
    gl.make_manual("deploy")
    with pytest.raises(DeployFailed) as failure:
        await deployer(gl).run(job(), ProgressRecorder())
    assert (
        "pipeline #1001 waits for manual job deploy in GitLab; set play_job in the gitlab "
        f"options to have shipbot start it, so shipbot canceled it ({web_url(gl)})"
    ) == str(failure.value)


async def test_manual_job_without_play_job_is_canceled(gl: FakeGitLab, project_id: int) -> None:
    """The blocked pipeline is canceled, so nobody can play it later behind shipbot's back."""
    gl.make_manual("deploy")
    with pytest.raises(DeployFailed):
        await deployer(gl).run(job(), ProgressRecorder())
    assert [True] == [pipeline.canceled for pipeline in gl.pipelines]


# Waiting between looks


async def test_waits_double_while_nothing_changes(gl: FakeGitLab, project_id: int) -> None:
    """Without news the wait starts at poll_seconds and doubles up to max_poll_seconds."""
    gl.hang()
    wake = EventWake()
    options = {"poll_seconds": 0.01, "max_poll_seconds": 0.08, "wake": wake}
    run = asyncio.create_task(deployer(gl, **options).run(job(), ProgressRecorder()))
    await until(lambda: len(wake.waits) >= 5)
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    assert [0.01, 0.02, 0.04, 0.08, 0.08] == [seconds for _, seconds in wake.waits[:5]]


async def test_wait_resets_after_a_change(gl: FakeGitLab, project_id: int) -> None:
    """After the pipeline changes, the next wait is poll_seconds again."""
    gl.hang()

    def release_during_the_fourth_wait(wake: EventWake) -> None:
        if len(wake.waits) == 4:
            gl.release()

    wake = EventWake(on_wait=release_during_the_fourth_wait)
    options = {"poll_seconds": 0.01, "max_poll_seconds": 0.08, "wake": wake}
    await deployer(gl, **options).run(job(), ProgressRecorder())
    assert [0.01, 0.02, 0.04, 0.08, 0.01] == [seconds for _, seconds in wake.waits[:5]]


async def test_waits_on_the_pipeline_topic(gl: FakeGitLab, project_id: int) -> None:
    """The deployer waits for news on its own pipeline's topic."""
    wake = EventWake()
    await deployer(gl, wake=wake).run(job(), ProgressRecorder())
    assert {pipeline_topic(project_id, 1001)} == {topic for topic, _ in wake.waits}


async def test_wake_up_makes_the_deployer_look_at_once(gl: FakeGitLab, project_id: int) -> None:
    """With news on its topic the deployer looks again at once, not after poll_seconds."""
    wake = EventWake()
    slow = deployer(gl, poll_seconds=30, max_poll_seconds=60, wake=wake)
    run = asyncio.create_task(slow.run(job(), ProgressRecorder()))
    await until(lambda: wake.waits)
    started = time.monotonic()
    wake.notify(pipeline_topic(project_id, 1001))
    async with asyncio.timeout(10):
        await run
    assert (True, "success") == (time.monotonic() - started < 10, gl.pipelines[0].status)


# Giving up


async def test_timeout_cancels_the_pipeline(gl: FakeGitLab, project_id: int) -> None:
    """A pipeline still running after timeout_seconds is canceled and the deploy fails."""
    gl.hang()
    with pytest.raises(DeployFailed) as failure:
        await deployer(gl, timeout_seconds=1).run(job(), ProgressRecorder())
    expected = (
        f"pipeline #1001 did not finish within 1s, so shipbot canceled it ({web_url(gl)})",
        True,
    )
    assert expected == (str(failure.value), gl.pipelines[0].canceled)


async def test_stopping_the_deploy_cancels_the_pipeline(gl: FakeGitLab, project_id: int) -> None:
    """Cancelling the deploy (the request was stopped) cancels its pipeline in GitLab."""
    gl.hang()
    run = asyncio.create_task(deployer(gl).run(job(), ProgressRecorder()))
    await until(lambda: running(gl))
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert ["canceled"] == [pipeline.status for pipeline in gl.pipelines]


async def test_stopping_while_gitlab_creates_the_pipeline_cancels_it(
    gl: FakeGitLab, project_id: int
) -> None:
    """Stopped while GitLab is still answering the create, the deploy cancels the pipeline
    once GitLab has made it, rather than leave it running unwatched."""
    gl.hang()
    gl.create_delay = 0.5
    run = asyncio.create_task(deployer(gl).run(job(), ProgressRecorder()))
    await until(lambda: f"POST /api/v4/projects/{project_id}/pipeline" in gl.requests)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert ["canceled"] == [pipeline.status for pipeline in gl.pipelines]


async def test_a_few_missed_polls_are_tolerated(gl: FakeGitLab, project_id: int) -> None:
    """GitLab failing four looks in a row does not end the deploy."""
    gl.fail_pipeline_reads(4)
    await deployer(gl).run(job(), ProgressRecorder())
    assert ["success"] == [pipeline.status for pipeline in gl.pipelines]


async def test_losing_track_of_the_pipeline_is_deploy_failed(
    gl: FakeGitLab, project_id: int
) -> None:
    """Five failed looks in a row fail the deploy as DeployFailed (the pipeline may have
    changed the target), saying that shipbot lost track of it and where to look."""
    gl.fail_pipeline_reads(5)
    with pytest.raises(DeployError) as failure:
        await deployer(gl).run(job(), ProgressRecorder())
    expected = (
        f"GitLab at {gl.url} is failing (503 Service Unavailable) (pipeline #1001 was started;"
        f" shipbot lost track of it: {web_url(gl)})"
    )
    assert (DeployFailed, expected) == (type(failure.value), str(failure.value))


async def test_losing_track_of_the_pipeline_cancels_it(gl: FakeGitLab, project_id: int) -> None:
    """A pipeline shipbot lost track of is canceled (best effort), not left running."""
    gl.fail_pipeline_reads(5)
    with pytest.raises(DeployFailed):
        await deployer(gl).run(job(), ProgressRecorder())
    assert ["canceled"] == [pipeline.status for pipeline in gl.pipelines]


async def test_a_refused_look_at_the_pipeline_is_deploy_failed(
    gl: FakeGitLab, project_id: int
) -> None:
    """A look GitLab refuses outright (404) once the pipeline exists is DeployFailed at once."""
    gl.fail_pipeline_reads(1, status=404)
    with pytest.raises(DeployError) as failure:
        await deployer(gl).run(job(), ProgressRecorder())
    assert DeployFailed is type(failure.value)


async def test_a_refused_look_cancels_the_pipeline(gl: FakeGitLab, project_id: int) -> None:
    """Any failure after the pipeline exists cancels it, not only a timeout or a stop."""
    gl.fail_pipeline_reads(1, status=404)
    with pytest.raises(DeployFailed):
        await deployer(gl).run(job(), ProgressRecorder())
    assert [True] == [pipeline.canceled for pipeline in gl.pipelines]


# Errors people can act on


async def test_wrong_token_is_refused(gl: FakeGitLab, project_id: int) -> None:
    """A token GitLab does not accept is reported with GitLab's URL and never the token."""
    wrong = GitLabDeployer(gl.url, "glpat-wrong", PROJECT, timeout_seconds=TIMEOUT)
    with pytest.raises(DeployUnreachable) as failure:
        await wrong.run(job(), ProgressRecorder())
    assert f"GitLab at {gl.url} refused the token (401 Unauthorized)" == str(failure.value)


async def test_unknown_project(gl: FakeGitLab, project_id: int) -> None:
    """A project GitLab does not show the token is named in the error."""
    with pytest.raises(DeployError) as failure:
        await deployer(gl, project="group/nope").run(job(), ProgressRecorder())
    expected = f"project group/nope not found on {gl.url} (or the token cannot see it)"
    assert expected == str(failure.value)


async def test_credentials_in_the_gitlab_url_are_never_shown(
    gl: FakeGitLab, project_id: int
) -> None:
    """A GitLab URL given with user:password@ is named without them."""
    url = gl.url.replace("http://", "http://ci:s3cret@")
    with pytest.raises(DeployError) as failure:
        await GitLabDeployer(url, TOKEN, "group/nope", timeout_seconds=TIMEOUT).run(
            job(), ProgressRecorder()
        )
    expected = f"project group/nope not found on {gl.url} (or the token cannot see it)"
    assert expected == str(failure.value)


async def test_unknown_version(gl: FakeGitLab, project_id: int) -> None:
    """A version that is no branch or tag of the project is named, with GitLab's reason."""
    with pytest.raises(DeployError) as failure:
        await deployer(gl).run(job(version="9.9.9"), ProgressRecorder())
    expected = f"GitLab cannot run a pipeline of {PROJECT} for version 9.9.9: Reference not found"
    assert expected == str(failure.value)


async def test_nothing_listening() -> None:
    """A GitLab URL where nothing listens is reported as unreachable."""
    with contextlib.closing(bound_socket()) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(DeployUnreachable) as failure:
            await GitLabDeployer(url, TOKEN, PROJECT, timeout_seconds=TIMEOUT).run(
                job(), ProgressRecorder()
            )
    assert f"cannot reach GitLab at {url}" == str(failure.value)


def test_repr_hides_the_token() -> None:
    """A deployer in a log line does not show its token."""
    assert "glpat-secret" not in repr(
        GitLabDeployer("https://gitlab.example", "glpat-secret", "a/b", timeout_seconds=TIMEOUT)
    )


# describe_deployment


async def test_describe_a_deployment_shipbot_ran(gl: FakeGitLab, project_id: int) -> None:
    """A deployment made by a shipbot pipeline is described as by_shipbot."""
    await deployer(gl).run(job(), ProgressRecorder())
    deployment = gl.pipelines[0].deployment
    assert deployment is not None
    found = await describe_deployment(gl.url, TOKEN, project_id, deployment.id)
    assert GitLabDeployment(
        project_id=project_id,
        project_path=PROJECT,
        deployment_id=deployment.id,
        environment="prod",
        status="success",
        ref="1.2.3",
        sha=gl.projects[project_id].refs["1.2.3"],
        user="shipbot",
        finished_at=None,
        pipeline_id=1001,
        by_shipbot=True,
    ) == dataclasses.replace(found, finished_at=None)


async def test_describe_an_external_deployment(gl: FakeGitLab, project_id: int) -> None:
    """A deployment whose pipeline has no SHIPBOT_REQUEST_ID is not by_shipbot."""
    deployment_id = gl.add_deployment(
        project_id, "prod", "main", user="alice", pipeline_variables={"CI_DEBUG": "1"}
    )
    found = await describe_deployment(gl.url, TOKEN, project_id, deployment_id)
    expected = ("alice", "main", "prod", "success", False)
    assert expected == (found.user, found.ref, found.environment, found.status, found.by_shipbot)


async def test_describe_a_deployment_made_through_the_api(gl: FakeGitLab, project_id: int) -> None:
    """A deployment no pipeline ran has no pipeline_id and is not by_shipbot."""
    deployment_id = gl.add_deployment(project_id, "prod", "main")
    found = await describe_deployment(gl.url, TOKEN, project_id, deployment_id)
    assert (None, False) == (found.pipeline_id, found.by_shipbot)


async def test_described_deployment_has_finish_time(gl: FakeGitLab, project_id: int) -> None:
    """A finished deployment carries when it finished, in epoch seconds."""
    before = time.time() - 1
    deployment_id = gl.add_deployment(project_id, "prod", "main", pipeline_variables={})
    found = await describe_deployment(gl.url, TOKEN, project_id, deployment_id)
    assert found.finished_at is not None and before < found.finished_at < time.time() + 1


async def test_describe_unknown_deployment(gl: FakeGitLab, project_id: int) -> None:
    """An unknown deployment is a DeployError naming it."""
    with pytest.raises(DeployError) as failure:
        await describe_deployment(gl.url, TOKEN, project_id, 999)
    expected = f"deployment 999 of {PROJECT} not found on {gl.url} (or the token cannot see it)"
    assert expected == str(failure.value)


# FakeGitLab itself


def api(gl: FakeGitLab, method: str, tail: str, token: str = TOKEN, **kwargs: Any) -> Any:
    url = f"{gl.url}/api/v4/{tail}"
    return requests.request(method, url, headers={"PRIVATE-TOKEN": token}, timeout=5, **kwargs)


def test_fake_refuses_a_wrong_token(gl: FakeGitLab, project_id: int) -> None:
    """A wrong PRIVATE-TOKEN gets GitLab's 401 body."""
    answer = api(gl, "GET", "projects/1", token="nope")
    assert (401, {"message": "401 Unauthorized"}) == (answer.status_code, answer.json())


def test_fake_finds_a_project_by_encoded_path(gl: FakeGitLab, project_id: int) -> None:
    """A project is found by its URL-encoded path as by its id."""
    by_path = api(gl, "GET", "projects/group%2Fapp").json()
    assert (project_id, PROJECT) == (by_path["id"], by_path["path_with_namespace"])


def test_fake_unknown_project_is_404(gl: FakeGitLab) -> None:
    """An unknown project gets GitLab's 404 body."""
    answer = api(gl, "GET", "projects/group%2Fnope")
    assert (404, {"message": "404 Project Not Found"}) == (answer.status_code, answer.json())


def test_fake_unknown_ref_is_400(gl: FakeGitLab, project_id: int) -> None:
    """Creating a pipeline on an unknown ref gets GitLab's validation error."""
    answer = api(gl, "POST", "projects/1/pipeline", json={"ref": "nope"})
    expected = (400, {"message": {"base": ["Reference not found"]}})
    assert expected == (answer.status_code, answer.json())


def test_fake_created_pipeline_is_pending(gl: FakeGitLab, project_id: int) -> None:
    """A new pipeline is answered 201 and pending, its first stage queued."""
    answer = api(gl, "POST", "projects/1/pipeline", json={"ref": "main"})
    assert (201, "pending") == (answer.status_code, answer.json()["status"])


def test_fake_pipeline_variables_are_listed(gl: FakeGitLab, project_id: int) -> None:
    """Pipeline variables come back as GitLab lists them."""
    variables = [{"key": "A", "value": "1", "variable_type": "env_var"}]
    api(gl, "POST", "projects/1/pipeline", json={"ref": "main", "variables": variables})
    listed = api(gl, "GET", "projects/1/pipelines/1001/variables").json()
    assert [{"key": "A", "variable_type": "env_var", "value": "1"}] == listed


def test_fake_paginates_jobs(gl: FakeGitLab, project_id: int) -> None:
    """python-gitlab follows the fake's Link headers through every page of jobs."""
    client = gitlab.Gitlab(gl.url, private_token=TOKEN)
    pipeline = client.projects.get(project_id).pipelines.create({"ref": "main"})
    jobs = pipeline.jobs.list(per_page=1, get_all=True)
    pages = [r for r in gl.requests if r.endswith("/jobs")]
    assert ([5002, 5001], 2) == ([j.id for j in jobs], len(pages))


def test_fake_playing_a_job_that_is_not_manual_is_400(gl: FakeGitLab, project_id: int) -> None:
    """Only a manual job can be played."""
    api(gl, "POST", "projects/1/pipeline", json={"ref": "main"})
    answer = api(gl, "POST", "projects/1/jobs/5001/play")
    expected = (400, {"message": "400 Bad request - Unplayable Job"})
    assert expected == (answer.status_code, answer.json())


def test_fake_fails_the_next_pipeline_reads(gl: FakeGitLab, project_id: int) -> None:
    """fail_pipeline_reads(2) answers the next two GETs of a pipeline 503, the third as usual."""
    api(gl, "POST", "projects/1/pipeline", json={"ref": "main"})
    gl.fail_pipeline_reads(2)
    answers = [api(gl, "GET", "projects/1/pipelines/1001") for _ in range(3)]
    assert [
        (503, {"message": "503 Service Unavailable"}),
        (503, {"message": "503 Service Unavailable"}),
        200,
    ] == [(a.status_code, a.json()) for a in answers[:2]] + [answers[2].status_code]


def test_fake_create_delay_holds_the_pipeline_back(gl: FakeGitLab, project_id: int) -> None:
    """With create_delay, a pipeline is made and answered only after that many seconds."""
    gl.create_delay = 0.2
    started = time.monotonic()
    api(gl, "POST", "projects/1/pipeline", json={"ref": "main"})
    assert True is (time.monotonic() - started >= 0.2)


def test_fake_progresses_by_time_without_being_asked() -> None:
    """With step_seconds a pipeline runs to the end on its own, as for a worker process."""
    with FakeGitLab(token=TOKEN, step_seconds=0.01) as fake:
        fake.add_project(PROJECT)
        api(fake, "POST", "projects/1/pipeline", json={"ref": "main"})
        deadline = time.monotonic() + 10
        while fake.pipeline(1001).status != "success" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "success" == fake.pipeline(1001).status


class HookSink(Served):
    """Receives webhooks over HTTP and remembers (event, token, body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        app = Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])
        self._server = BackgroundServer(app)

    @property
    def url(self) -> str:
        return f"{self._server.url}/hook"

    def bodies(self, event: str) -> list[dict[str, Any]]:
        return [body for kind, _, body in self.received if kind == event]

    async def _receive(self, request: Request) -> Response:
        event = request.headers.get("x-gitlab-event", "")
        token = request.headers.get("x-gitlab-token", "")
        self.received.append((event, token, await request.json()))
        return Response(status_code=200)


@pytest.fixture
def hooked() -> Iterator[tuple[FakeGitLab, HookSink]]:
    with HookSink() as sink, FakeGitLab(TOKEN, hook_url=sink.url, hook_token="s3cret") as fake:
        fake.add_project(PROJECT, refs=["main", "1.2.3"])
        yield fake, sink


async def run_and_collect(hooked: tuple[FakeGitLab, HookSink]) -> HookSink:
    fake, sink = hooked
    await deployer(fake).run(job(), ProgressRecorder())
    await until(lambda: all(_succeeded(sink, event) for event in _HOOK_STATUS))
    return sink


_HOOK_STATUS = {  # where each hook says how its subject ended
    "Deployment Hook": lambda body: body["status"],
    "Pipeline Hook": lambda body: body["object_attributes"]["status"],
    "Job Hook": lambda body: body["build_name"] == "deploy" and body["build_status"],
}


def _succeeded(sink: HookSink, event: str) -> bool:
    """Whether a hook of ``event`` saying success has arrived (hooks may arrive in any order)."""
    return any(_HOOK_STATUS[event](body) == "success" for body in sink.bodies(event))


async def test_fake_posts_pipeline_hooks(hooked: tuple[FakeGitLab, HookSink]) -> None:
    """Each pipeline status change is a Pipeline Hook, in order."""
    sink = await run_and_collect(hooked)
    statuses = [body["object_attributes"]["status"] for body in sink.bodies("Pipeline Hook")]
    assert ["pending", "running", "success"] == statuses


async def test_fake_posts_job_hooks(hooked: tuple[FakeGitLab, HookSink]) -> None:
    """Each job status change is a Job Hook naming the job's pipeline and project."""
    sink = await run_and_collect(hooked)
    deploys = [
        (body["build_status"], body["pipeline_id"], body["project_id"])
        for body in sink.bodies("Job Hook")
        if body["build_name"] == "deploy"
    ]
    assert [("pending", 1001, 1), ("running", 1001, 1), ("success", 1001, 1)] == deploys


async def test_fake_hooks_carry_the_secret(hooked: tuple[FakeGitLab, HookSink]) -> None:
    """Every hook carries X-Gitlab-Token."""
    sink = await run_and_collect(hooked)
    assert {"s3cret"} == {token for _, token, _ in sink.received}


async def test_fake_posts_deployment_hooks(hooked: tuple[FakeGitLab, HookSink]) -> None:
    """The deploy job's deployment posts Deployment Hooks as it starts and succeeds."""
    sink = await run_and_collect(hooked)
    seen = [(b["status"], b["environment"]) for b in sink.bodies("Deployment Hook")]
    assert [("running", "prod"), ("success", "prod")] == seen


def test_fake_builds_a_deployment_hook(gl: FakeGitLab, project_id: int) -> None:
    """deployment_hook() is shaped like GitLab's documented Deployment Hook."""
    deployment_id = gl.add_deployment(project_id, "prod", "main", user="alice")
    hook = gl.deployment_hook(deployment_id)
    shown = {key: hook[key] for key in ("object_kind", "status", "deployment_id", "environment")}
    assert (
        {
            "object_kind": "deployment",
            "status": "success",
            "deployment_id": deployment_id,
            "environment": "prod",
        },
        PROJECT,
        "alice",
        gl.projects[project_id].refs["main"][:8],
    ) == (
        shown,
        hook["project"]["path_with_namespace"],
        hook["user"]["username"],
        hook["short_sha"],
    )
