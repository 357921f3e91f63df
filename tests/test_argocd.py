"""ArgoCDDeployer against FakeArgoCD over real HTTP (no mocks), and FakeArgoCD's own behaviour."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from integrations.argocd import ArgoCDDeployer
from integrations.base import DeployError, DeployFailed, DeployJob, DeployUnreachable, Progress
from tests.fakes.argocd_api import FakeArgoCD
from tests.fakes.http_server import bound_socket

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


class Recorder:
    """A ProgressSink that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[Progress] = []

    async def __call__(self, progress: Progress) -> None:
        self.events.append(progress)

    @property
    def messages(self) -> list[str]:
        return [event.message for event in self.events]


async def failure(argo: FakeArgoCD, the_job: DeployJob, **overrides: object) -> DeployError:
    with pytest.raises(DeployError) as caught:
        await deployer(argo, **overrides).run(the_job, Recorder())
    return caught.value


def posts(argo: FakeArgoCD) -> list[tuple[str, str, dict | None]]:
    return [call for call in argo.calls if call[0] != "GET"]


# -- deploy ---------------------------------------------------------------------------------


async def test_deploy_syncs_the_application_to_the_version(argo: FakeArgoCD) -> None:
    """A deploy POSTs one sync to the version, without prune, and the version goes live."""
    await deployer(argo).run(job("v2"), Recorder())
    expected = [("POST", f"{PATH}/sync", {"revision": "v2", "prune": False, "dryRun": False})]
    assert expected == posts(argo)
    assert "v2" == argo.revision(APP)


async def test_deploy_reports_each_state_once(argo: FakeArgoCD) -> None:
    """A deploy reports the sync's phases, then health, then Synced and Healthy, each once."""
    argo.op_seconds = argo.rollout_seconds = 0.4
    recorder = Recorder()
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
    recorder = Recorder()
    await deployer(argo).run(job("v2"), recorder)
    expected = {("dc-a", f"{argo.url}/applications/{APP}", False)}
    assert expected == {(e.datacenter, e.link, e.failed) for e in recorder.events}


async def test_deploy_to_a_revision_off_the_target_ends_out_of_sync(argo: FakeArgoCD) -> None:
    """An Application tracking a branch is done when Healthy, though Argo shows it OutOfSync."""
    argo.add_application(APP, revision="v1", target_revision="main")
    recorder = Recorder()
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
        await the_deployer.run(job(), Recorder())
    sock.close()
    assert f"cannot reach Argo CD at {server}" == str(caught.value).split(" (")[0]


# -- rollback -------------------------------------------------------------------------------


async def test_rollback_posts_the_newest_history_id_of_the_version(argo: FakeArgoCD) -> None:
    """A rollback POSTs the id of the newest history entry whose revision is the version."""
    argo.add_application(APP, revision="v3", history=["v2", "v1", "v2"])  # ids 0 to 3
    await deployer(argo).run(rollback("v2"), Recorder())
    assert [("POST", f"{PATH}/rollback", {"id": 2, "prune": False, "dryRun": False})] == posts(argo)


async def test_rollback_ends_healthy_on_the_version_and_out_of_sync(argo: FakeArgoCD) -> None:
    """After a rollback the version is live and Healthy, while Argo shows it OutOfSync."""
    argo.add_application(APP, revision="v2", history=["v1"])
    recorder = Recorder()
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


# -- cancellation ---------------------------------------------------------------------------


async def test_cancel_propagates_promptly_and_terminates(argo: FakeArgoCD) -> None:
    """Cancelling a run ends it within a second and terminates its running operation."""
    argo.op_seconds = 30
    task = asyncio.create_task(deployer(argo).run(job("v2"), Recorder()))
    async with asyncio.timeout(5):
        while not posts(argo):
            await asyncio.sleep(0.02)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1
    assert ("DELETE", f"{PATH}/operation", None) == argo.calls[-1]


# -- the fake itself ------------------------------------------------------------------------


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
