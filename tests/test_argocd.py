"""ArgoCDDeployer against FakeArgoCD over real HTTP (no mocks), and FakeArgoCD's own behaviour."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.ports.deployer import DeployError, DeployFailed, DeployJob, DeployUnreachable, Progress
from integrations.argocd import ArgoCDDeployer
from tests.fakes.argocd_api import FakeArgoCD
from tests.fakes.http_server import bound_socket
from tests.fakes.recorders import ProgressRecorder
from tests.waiting import until

APP = "trade-api-dc-a"
PATH = f"/api/v1/applications/{APP}"


@pytest.fixture
def argo() -> Iterator[FakeArgoCD]:
    with FakeArgoCD(token="t", op_seconds=0.1, rollout_seconds=0.1) as fake:
        fake.add_application(APP, revision="v1")
        yield fake


def deployer(argo: FakeArgoCD, **overrides: object) -> ArgoCDDeployer:
    fields: dict = {
        "server": argo.url,
        "token": "t",
        "application": APP,
        "timeout_seconds": 10,
        "poll_seconds": 0.05,
    }
    return ArgoCDDeployer(**(fields | overrides))


def job(version: str = "v2", **overrides: object) -> DeployJob:
    fields: dict = {
        "request_id": "req-1",
        "service": "trade-api",
        "version": version,
        "environment": "prod",
        "datacenter": "dc-a",
    }
    return DeployJob(**(fields | overrides))


def rollback(version: str) -> DeployJob:
    return job(version, action="rollback")


async def failure(argo: FakeArgoCD, the_job: DeployJob, **overrides: object) -> DeployError:
    with pytest.raises(DeployError) as caught:
        await deployer(argo, **overrides).run(the_job, ProgressRecorder())
    return caught.value


def posts(argo: FakeArgoCD) -> list[tuple[str, str, dict | None]]:
    return [call for call in argo.calls if call[0] != "GET"]


def lookups(argo: FakeArgoCD) -> list[str]:
    """The revisions whose metadata was asked for, in order."""
    suffix = "/metadata"
    return [path.split("/")[-2] for _, path, _ in argo.calls if path.endswith(suffix)]


def short(revision: str) -> str:
    """The abbreviated SHA of ``revision``'s commit in a git_shas Application."""
    return FakeArgoCD.sha(revision)[:7]


class ReadsFailOnceStarted(ProgressRecorder):
    """Records progress; the first event (the operation started) makes the next reads fail."""

    def __init__(self, argo: FakeArgoCD, times: int, status: int = 503) -> None:
        super().__init__()
        self._argo, self._times, self._status = argo, times, status

    async def __call__(self, progress: Progress) -> None:
        if not self.events:
            self._argo.fail_reads(self._times, self._status)
        await super().__call__(progress)


def terminated(argo: FakeArgoCD) -> bool:
    """Whether the Application's last operation ended by being terminated."""
    state = argo.application(APP)["status"]["operationState"]
    return "Operation terminated" == state["message"]


def get(argo: FakeArgoCD, path: str, token: str = "t") -> httpx.Response:
    return httpx.get(f"{argo.url}{path}", headers={"Authorization": f"Bearer {token}"})


# -- deploy ---------------------------------------------------------------------------------


async def test_deploy_syncs_the_application_to_the_version(argo: FakeArgoCD) -> None:
    """A deploy POSTs one sync to the version, without prune, and the version goes live."""
    await deployer(argo).run(job("v2"), ProgressRecorder())
    expected = [("POST", f"{PATH}/sync", {"revision": "v2", "prune": False, "dryRun": False})]
    assert expected == posts(argo)
    assert "v2" == argo.revision(APP)


async def test_deploy_reports_each_state_once(argo: FakeArgoCD) -> None:
    """A deploy reports the sync's phases, then health, then Synced and Healthy, each once."""
    argo.op_seconds = argo.rollout_seconds = 0.4
    recorder = ProgressRecorder()
    await deployer(argo).run(job("v2"), recorder)
    assert [
        "sync to v2 started",
        f"sync Running: waiting for healthy state of apps/Deployment/{APP}",
        "sync Succeeded: successfully synced (all tasks run)",
        "health Progressing",
        f"{APP} Synced and Healthy at v2",
    ] == recorder.messages


async def test_progress_links_to_the_application(argo: FakeArgoCD) -> None:
    """Every event names the data centre and links the Application's page in Argo CD."""
    recorder = ProgressRecorder()
    await deployer(argo).run(job("v2"), recorder)
    expected = {("dc-a", f"{argo.url}/applications/{APP}", False)}
    assert expected == {(e.datacenter, e.link, e.failed) for e in recorder.events}


async def test_deploy_to_a_revision_off_the_target_ends_out_of_sync(argo: FakeArgoCD) -> None:
    """An Application tracking a branch is done when Healthy, though Argo shows it OutOfSync."""
    argo.add_application(APP, revision="v1", target_revision="main")
    recorder = ProgressRecorder()
    await deployer(argo).run(job("v2"), recorder)
    assert f"{APP} Healthy at v2 (OutOfSync: its target is main)" == recorder.messages[-1]


async def test_degraded_after_the_sync_fails_the_deploy(argo: FakeArgoCD) -> None:
    """A revision that turns Degraded fails with Argo's reason from the Degraded resource."""
    argo.degraded_revisions.add("v3")
    error = await failure(argo, job("v3"))
    assert isinstance(error, DeployFailed)
    reason = f'Deployment {APP}: Deployment "{APP}" exceeded its progress deadline'
    assert f"application {APP} is Degraded: {reason}" == str(error)


async def test_failed_operation_fails_with_argos_message(argo: FakeArgoCD) -> None:
    """A sync operation that ends Failed fails the deploy with Argo's operation message."""
    argo.failing_revisions.add("v3")
    error = await failure(argo, job("v3"))
    assert isinstance(error, DeployFailed)
    expected = (
        f"sync of application {APP} to v3 ended Failed: one or more objects failed to apply, "
        f"reason: Deployment '{APP}' is invalid"
    )
    assert expected == str(error)


async def test_sync_refused_by_argo_shows_its_message(argo: FakeArgoCD) -> None:
    """Argo's own refusal (here: auto-sync pins the target) reaches the user in its words."""
    argo.add_application(APP, revision="v1", automated=True, target_revision="main")
    error = await failure(argo, job("v2"))
    expected = f"Argo CD at {argo.url} could not sync {APP}: Cannot sync to v2: "
    assert expected + "auto-sync currently set to main" == str(error)


async def test_timeout_fails_the_deploy(argo: FakeArgoCD) -> None:
    """A sync still running after timeout_seconds fails the deploy, naming the last state."""
    argo.op_seconds = 30
    error = await failure(argo, job("v2"), timeout_seconds=1)
    assert isinstance(error, DeployFailed)
    last = f"sync Running: waiting for healthy state of apps/Deployment/{APP}"
    assert f"application {APP} was not done within 1s (last: {last})" == str(error)


async def test_timeout_terminates_the_running_operation(argo: FakeArgoCD) -> None:
    """After a timeout the operation is terminated, so it cannot block the next deploy."""
    argo.op_seconds = 30
    await failure(argo, job("v2"), timeout_seconds=1)
    assert ("DELETE", f"{PATH}/operation", None) == argo.calls[-1]
    assert "Operation terminated" == argo.application(APP)["status"]["operationState"]["message"]


async def test_a_few_missed_polls_are_tolerated(argo: FakeArgoCD) -> None:
    """Argo out of reach for two polls in a row after the sync does not end the deploy."""
    await deployer(argo).run(job("v2"), ReadsFailOnceStarted(argo, times=2))
    assert "v2" == argo.revision(APP)


async def test_losing_track_of_the_sync_is_deploy_failed(argo: FakeArgoCD) -> None:
    """Three missed polls after the sync fail the deploy as DeployFailed (the target may have
    changed), saying that shipbot lost track of it and where to look."""
    with pytest.raises(DeployError) as caught:
        await deployer(argo).run(job("v2"), ReadsFailOnceStarted(argo, times=3))
    expected = (
        f"cannot reach Argo CD at {argo.url} (HTTP 503) (the sync was started; shipbot lost "
        f"track of it: {argo.url}/applications/{APP})"
    )
    assert (DeployFailed, expected) == (type(caught.value), str(caught.value))


async def test_losing_track_of_the_sync_terminates_it(argo: FakeArgoCD) -> None:
    """A sync shipbot lost track of is terminated (best effort), not left running."""
    argo.op_seconds = 30
    with pytest.raises(DeployFailed):
        await deployer(argo).run(job("v2"), ReadsFailOnceStarted(argo, times=3))
    assert True is terminated(argo)


async def test_a_refused_poll_after_the_sync_is_deploy_failed(argo: FakeArgoCD) -> None:
    """A poll Argo refuses outright (500) after the sync is DeployFailed at once."""
    with pytest.raises(DeployError) as caught:
        await deployer(argo).run(job("v2"), ReadsFailOnceStarted(argo, times=1, status=500))
    assert DeployFailed is type(caught.value)


async def test_a_sync_argo_refuses_terminates_nothing(argo: FakeArgoCD) -> None:
    """A sync Argo refuses (another operation runs) leaves that other operation alone."""
    argo.op_seconds = 30
    headers = {"Authorization": "Bearer t"}
    url, body = f"{argo.url}{PATH}/sync", {"revision": "v9"}
    await asyncio.to_thread(httpx.post, url, json=body, headers=headers)
    await failure(argo, job("v2"))
    assert [] == [call for call in argo.calls if call[0] == "DELETE"]


# -- errors ---------------------------------------------------------------------------------


async def test_wrong_token_is_unreachable_and_not_echoed(argo: FakeArgoCD) -> None:
    """A token Argo refuses is DeployUnreachable with Argo's reason, and never shown."""
    error = await failure(argo, job(), token="t-secret-wrong")
    assert isinstance(error, DeployUnreachable)
    expected = (
        f"Argo CD at {argo.url} refused the token "
        "(invalid session: token signature is invalid); check ARGOCD_TOKEN"
    )
    assert expected == str(error)


async def test_credentials_in_the_server_url_are_refused_and_never_shown(argo: FakeArgoCD) -> None:
    """user:password@ in `server` cannot work beside the token's Authorization header: refused
    before anything is asked of Argo, with a message that names the server without them."""
    server = argo.url.replace("http://", "http://admin:s3cret@")
    error = await failure(argo, job(), server=server)
    expected = (
        f"the Argo CD server {argo.url} is given with a user name and password; shipbot signs "
        "in with ARGOCD_TOKEN only, so remove them from the catalog's argocd.server (or "
        "ARGOCD_URL)"
    )
    assert (expected, []) == (str(error), argo.calls)


def test_the_application_link_never_carries_credentials(argo: FakeArgoCD) -> None:
    """The link shown on the card is the Application's page without user:password@."""
    server = argo.url.replace("http://", "http://admin:s3cret@") + "/"
    assert f"{argo.url}/applications/{APP}" == deployer(argo, server=server).link


async def test_unknown_application_is_permission_denied(argo: FakeArgoCD) -> None:
    """Argo answers 403 for an Application that does not exist; the message says both causes."""
    error = await failure(argo, job(), application="nope")
    assert isinstance(error, DeployUnreachable)
    expected = (
        f"Argo CD at {argo.url} refused the token access to application nope "
        "(permission denied): the application does not exist there, "
        "or the token may not get and sync it"
    )
    assert expected == str(error)


async def test_unknown_application_not_found(argo: FakeArgoCD) -> None:
    """Where Argo answers 404 for an unknown Application, the error says it is not found."""
    argo.missing_status = 404
    error = await failure(argo, job(), application="nope")
    assert f"application nope not found on {argo.url}" == str(error)


async def test_nothing_listening_is_unreachable() -> None:
    """With no Argo CD at the address, the deploy is DeployUnreachable, naming the server."""
    sock = bound_socket()  # bound, never listening: connections are refused
    server = f"http://127.0.0.1:{sock.getsockname()[1]}"
    the_deployer = ArgoCDDeployer(server, "t", APP, timeout_seconds=5)
    with pytest.raises(DeployUnreachable) as caught:
        await the_deployer.run(job(), ProgressRecorder())
    sock.close()
    assert f"cannot reach Argo CD at {server}" == str(caught.value).split(" (")[0]


# -- rollback -------------------------------------------------------------------------------


async def test_rollback_posts_the_newest_history_id_of_the_version(argo: FakeArgoCD) -> None:
    """A rollback POSTs the id of the newest history entry whose revision is the version."""
    argo.add_application(APP, revision="v3", history=["v2", "v1", "v2"])  # ids 0 to 3
    await deployer(argo).run(rollback("v2"), ProgressRecorder())
    assert [("POST", f"{PATH}/rollback", {"id": 2, "prune": False, "dryRun": False})] == posts(argo)


async def test_rollback_ends_healthy_on_the_version_and_out_of_sync(argo: FakeArgoCD) -> None:
    """After a rollback the version is live and Healthy, while Argo shows it OutOfSync."""
    argo.add_application(APP, revision="v2", history=["v1"])
    recorder = ProgressRecorder()
    await deployer(argo).run(rollback("v1"), recorder)
    assert ("v1", f"{APP} Healthy at v1 (OutOfSync: its target is HEAD)") == (
        argo.revision(APP),
        recorder.messages[-1],
    )


async def test_rollback_refused_under_auto_sync(argo: FakeArgoCD) -> None:
    """With auto-sync on, a rollback is refused before anything is posted, saying what to do."""
    argo.add_application(APP, revision="v2", history=["v1"], automated=True)
    error = await failure(argo, rollback("v1"))
    expected = (
        f"cannot roll back {APP}: auto-sync is on, and Argo CD would sync it straight back to "
        f"its target revision, undoing the rollback. Disable auto-sync for {APP} in Argo CD and "
        "roll back again, or return to v1 through Git (its targetRevision, or a revert) and let "
        "auto-sync deploy it"
    )
    assert (expected, []) == (str(error), posts(argo))


async def test_rollback_to_a_version_not_in_history_is_refused(argo: FakeArgoCD) -> None:
    """A version Argo never deployed is refused, naming the versions in history, newest first."""
    argo.add_application(APP, revision="v3", history=["v1", "v2"])
    error = await failure(argo, rollback("v0"))
    expected = (
        f"cannot roll back {APP} to v0: Argo CD's history of it has no deployment of v0 "
        "(it has: v3, v2, v1)"
    )
    assert (expected, []) == (str(error), posts(argo))


async def test_rollback_to_the_pinned_target_uses_the_entry_at_that_revision(
    argo: FakeArgoCD,
) -> None:
    """An entry's source targetRevision is the spec's even after a sync elsewhere: not matched."""
    argo.add_application(APP, revision="v2", target_revision="v1", history=["v1"])  # ids 0, 1
    await deployer(argo).run(rollback("v1"), ProgressRecorder())
    assert [("POST", f"{PATH}/rollback", {"id": 0, "prune": False, "dryRun": False})] == posts(argo)


# -- rollback to a Git tag --------------------------------------------------------------------


async def test_rollback_to_a_tag_posts_the_newest_history_id_of_its_commit(
    argo: FakeArgoCD,
) -> None:
    """With SHAs in history, the entry is found by the tags Argo gives for each commit."""
    argo.add_application(APP, revision="v3", history=["v1", "v2", "v1"], git_shas=True)
    await deployer(argo).run(rollback("v1"), ProgressRecorder())
    assert [("POST", f"{PATH}/rollback", {"id": 2, "prune": False, "dryRun": False})] == posts(argo)


async def test_tag_lookups_go_newest_first_and_stop_at_the_tag(argo: FakeArgoCD) -> None:
    """Commits are looked up once each, newest first, until one carries the tag."""
    argo.add_application(APP, revision="v4", history=["v1", "v2", "v3", "v3"], git_shas=True)
    await deployer(argo).run(rollback("v2"), ProgressRecorder())
    assert [argo.sha("v4"), argo.sha("v3"), argo.sha("v2")] == lookups(argo)


async def test_rollback_to_a_tag_ends_healthy_on_its_commit(argo: FakeArgoCD) -> None:
    """The card names the history id and commit; the tagged commit ends live and Healthy."""
    argo.add_application(APP, revision="v2", history=["v1"], git_shas=True)
    recorder = ProgressRecorder()
    await deployer(argo).run(rollback("v1"), recorder)
    assert (
        "v1",
        f"rollback to v1 started (history id 0, commit {short('v1')})",
        f"{APP} Healthy at v1 (OutOfSync: its target is HEAD)",
    ) == (argo.revision(APP), recorder.messages[1], recorder.messages[-1])


async def test_rollback_follows_the_tag_to_whichever_commit_argo_says(argo: FakeArgoCD) -> None:
    """The tag is read from Argo's metadata, not guessed from the names in history."""
    argo.add_application(APP, revision="build-9", history=["build-7", "build-8"], git_shas=True)
    argo.set_tags("build-7", "v1")
    await deployer(argo).run(rollback("v1"), ProgressRecorder())
    assert ("build-7", argo.history(APP)[-1]["revision"]) == (
        argo.revision(APP),
        argo.sha("build-7"),
    )


async def test_a_commit_whose_tags_argo_cannot_give_is_passed_over(argo: FakeArgoCD) -> None:
    """Argo failing to read one commit (gone from the repo, say) does not end the search."""
    argo.add_application(APP, revision="v3", history=["v1", "v2"], git_shas=True)
    argo.unreadable_revisions.add("v3")
    await deployer(argo).run(rollback("v1"), ProgressRecorder())
    assert [("POST", f"{PATH}/rollback", {"id": 0, "prune": False, "dryRun": False})] == posts(argo)


async def test_rollback_to_a_tag_no_commit_has_is_refused_with_what_was_found(
    argo: FakeArgoCD,
) -> None:
    """Nothing tagged: refused before any POST, naming each commit's tags and Argo's failure."""
    argo.add_application(APP, revision="v3", history=["v1", "v2"], git_shas=True)
    argo.set_tags("v2")
    argo.unreadable_revisions.add("v1")
    error = await failure(argo, rollback("v0"))
    sha = argo.sha("v1")
    expected = (
        f"cannot roll back {APP} to v0: Argo CD's history of it has no deployment of v0 or of a "
        f"commit tagged v0 (it has: {short('v3')} [v3], {short('v2')} [no tags], "
        f"{short('v1')} [tags unknown]); Argo CD at {argo.url} could not read the tags of commit "
        f"{short('v1')}: Failed to checkout revision {sha}: `git fetch origin {sha} --tags "
        f"--force --prune` failed exit status 128: fatal: remote error: upload-pack: not our ref "
        f"{sha}"
    )
    assert (expected, []) == (str(error), posts(argo))


async def test_tag_lookups_are_bounded(argo: FakeArgoCD) -> None:
    """At most ten commits are looked up; older ones are named as not looked up."""
    names = [f"build-{number}" for number in range(12)]
    argo.add_application(APP, revision=names[-1], history=names[:-1], git_shas=True)
    error = await failure(argo, rollback("v0"))
    unseen = re.findall(r"\w{7} \[not looked up\]", str(error))
    expected = [f"{short('build-1')} [not looked up]", f"{short('build-0')} [not looked up]"]
    assert (10, expected) == (len(lookups(argo)), unseen)


# -- cancellation ---------------------------------------------------------------------------


async def test_cancel_propagates_promptly_and_terminates(argo: FakeArgoCD) -> None:
    """Cancelling a run ends it within a second and terminates its running operation."""
    argo.op_seconds = 30
    task = asyncio.create_task(deployer(argo).run(job("v2"), ProgressRecorder()))
    await until(lambda: posts(argo), "the sync posted", timeout=5)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1
    assert ("DELETE", f"{PATH}/operation", None) == argo.calls[-1]


async def test_stopping_while_argo_starts_the_sync_terminates_it(argo: FakeArgoCD) -> None:
    """Stopped while Argo is still answering the sync, the deploy terminates the operation
    once Argo has started it, rather than leave it running unwatched."""
    argo.op_seconds, argo.operation_delay = 30, 0.5
    task = asyncio.create_task(deployer(argo).run(job("v2"), ProgressRecorder()))
    await until(lambda: posts(argo), "the sync posted", timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert True is terminated(argo)


# -- the fake itself ------------------------------------------------------------------------


def test_fake_fail_reads_fails_the_next_gets_only(argo: FakeArgoCD) -> None:
    """fail_reads(2) answers the next two GETs of the Application 503 with no body."""
    argo.fail_reads(2)
    answers = [get(argo, PATH) for _ in range(3)]
    assert [(503, b""), (503, b""), 200] == [(a.status_code, a.content) for a in answers[:2]] + [
        answers[2].status_code
    ]


def test_fake_operation_delay_holds_the_sync_back(argo: FakeArgoCD) -> None:
    """With operation_delay, a sync is started and answered only after that many seconds."""
    argo.operation_delay = 0.2
    started = time.monotonic()
    httpx.post(
        f"{argo.url}{PATH}/sync", json={"revision": "v2"}, headers={"Authorization": "Bearer t"}
    )
    assert True is (time.monotonic() - started >= 0.2)


def test_fake_sync_moves_on_by_itself(argo: FakeArgoCD) -> None:
    """A sync the fake accepted is Running, then Synced and Healthy, with no one driving it."""
    headers = {"Authorization": "Bearer t"}
    reply = httpx.post(f"{argo.url}{PATH}/sync", json={"revision": "v2"}, headers=headers)
    running = reply.json()["status"]["operationState"]["phase"]
    time.sleep(0.3)
    status = httpx.get(f"{argo.url}{PATH}", headers=headers).json()["status"]
    summary = (status["operationState"]["phase"], status["sync"]["status"])
    assert ("Running", ("Succeeded", "Synced"), "Healthy", [0, 1]) == (
        running,
        summary,
        status["health"]["status"],
        [entry["id"] for entry in status["history"]],
    )


def test_fake_refuses_rollback_under_auto_sync_like_argo(argo: FakeArgoCD) -> None:
    """The fake answers a rollback under auto-sync with Argo's 400 FailedPrecondition body."""
    argo.set_automated(APP, True)
    reply = httpx.post(
        f"{argo.url}{PATH}/rollback", json={"id": 0}, headers={"Authorization": "Bearer t"}
    )
    message = "rollback cannot be initiated when auto-sync is enabled"
    assert (400, {"error": message, "code": 9, "message": message}) == (
        reply.status_code,
        reply.json(),
    )


def test_fake_wants_the_token(argo: FakeArgoCD) -> None:
    """Without a token the fake answers 401 Unauthenticated, as Argo does."""
    reply = httpx.get(f"{argo.url}{PATH}")
    message = "no session information"
    assert (401, {"error": message, "code": 16, "message": message}) == (
        reply.status_code,
        reply.json(),
    )


def test_fake_git_history_records_commit_shas(argo: FakeArgoCD) -> None:
    """With git_shas, history carries each revision's commit SHA; revision() still names it."""
    argo.add_application(APP, revision="v2", history=["v1"], git_shas=True)
    revisions = [entry["revision"] for entry in argo.history(APP)]
    assert ([argo.sha("v1"), argo.sha("v2")], "v2") == (revisions, argo.revision(APP))


def test_fake_answers_revision_metadata_like_argo(argo: FakeArgoCD) -> None:
    """The metadata of a commit is Argo's RevisionMetadata, tagged with the revision's name."""
    argo.add_application(APP, revision="v1", git_shas=True)
    reply = get(argo, f"{PATH}/revisions/{argo.sha('v1')}/metadata")
    body = reply.json()
    assert (200, ["author", "date", "tags", "message"], ["v1"]) == (
        reply.status_code,
        list(body),
        body["tags"],
    )


def test_fake_leaves_tags_out_for_an_untagged_commit(argo: FakeArgoCD) -> None:
    """As Argo (tags is omitempty), an untagged commit's metadata has no tags key."""
    argo.add_application(APP, revision="v1", git_shas=True)
    argo.set_tags("v1")
    reply = get(argo, f"{PATH}/revisions/{argo.sha('v1')}/metadata")
    assert "tags" not in reply.json()


def test_fake_set_tags_moves_a_tag_off_its_old_commit(argo: FakeArgoCD) -> None:
    """A tag names one commit: tagging another commit with it takes it off the first."""
    argo.add_application(APP, revision="v2", history=["v1"], git_shas=True)
    argo.set_tags("v2", "v1", "stable")
    tags = [
        get(argo, f"{PATH}/revisions/{argo.sha(name)}/metadata").json().get("tags")
        for name in ("v1", "v2")
    ]
    assert [None, ["v1", "stable"]] == tags


def test_fake_metadata_of_an_unresolved_revision_is_argos_500(argo: FakeArgoCD) -> None:
    """A revision that is not a SHA gets Argo's 500 Unknown "must be resolved"."""
    reply = get(argo, f"{PATH}/revisions/v1/metadata")
    message = "revision v1 must be resolved"
    assert (500, {"error": message, "code": 2, "message": message}) == (
        reply.status_code,
        reply.json(),
    )


def test_fake_metadata_of_an_unknown_application_is_refused_like_get(argo: FakeArgoCD) -> None:
    """The metadata endpoint answers an unknown Application as GET does: 403, or 404."""
    path = f"/api/v1/applications/nope/revisions/{argo.sha('v1')}/metadata"
    denied = get(argo, path).status_code
    argo.missing_status = 404
    assert (403, 404, 401) == (
        denied,
        get(argo, path).status_code,
        get(argo, path, "x").status_code,
    )
