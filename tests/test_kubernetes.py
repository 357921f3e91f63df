"""KubernetesDeployer against FakeKubernetes over real HTTP, and the fake's own behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes.config import kube_config

from bot.ports.deployer import DeployError, DeployFailed, DeployJob, DeployUnreachable, Progress
from integrations.kubernetes import KubernetesDeployer
from tests.fakes.http_server import bound_socket
from tests.fakes.kube_api import FakeKubernetes
from tests.fakes.recorders import ProgressRecorder
from tests.waiting import until

TOKEN = "s3cret-token"
TIMEOUT = 60  # seconds a rollout of these tests may take
NS, NAME = "prod", "trade-api"
V1, V2, V3 = "reg/trade-api:v1", "reg/trade-api:v2", "reg/trade-api:v3"
DEPLOYMENT = f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}"
SMP = {"Content-Type": "application/strategic-merge-patch+json"}
WAITING = f'Waiting for deployment "{NAME}" rollout to finish: '


def job(version: str = "v2", action: str = "deploy", datacenter: str = "dc-a") -> DeployJob:
    return DeployJob("req-1", NAME, version, "prod", datacenter, action)  # type: ignore[arg-type]


def image_patch(image: str) -> dict:
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    """A fake cluster whose controller steps on each read, holding prod/trade-api at v1."""
    with FakeKubernetes(token=TOKEN, progress="on_read") as fake:
        fake.add_deployment(NS, NAME, {"app": V1, "sidecar": "reg/envoy:1.30"}, replicas=2)
        yield fake


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def deployer(kube: FakeKubernetes, token_file: Path) -> KubernetesDeployer:
    return KubernetesDeployer(
        NAME, ["app"], "reg/trade-api", NS, api_url=kube.url, token_file=token_file,
        poll_seconds=0.01, timeout_seconds=TIMEOUT,
    )  # fmt: skip


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dc-a\n"
        f"clusters: [{{name: fake, cluster: {{server: '{server}'}}}}]\n"
        f"users: [{{name: shipbot, user: {{token: {TOKEN}}}}}]\n"
        "contexts: [{name: dc-a, context: {cluster: fake, user: shipbot}}]\n"
    )
    return path


class ReadsFailAfterThePatch(ProgressRecorder):
    """Records progress; the first event (the patch) makes the next ``times`` reads fail."""

    def __init__(self, kube: FakeKubernetes, times: int, code: int = 503) -> None:
        super().__init__()
        self._kube, self._times, self._code = kube, times, code

    async def __call__(self, progress: Progress) -> None:
        if not self.events:
            self._kube.fail_reads(self._times, self._code)
        await super().__call__(progress)


# -- deploy -------------------------------------------------------------------------------


async def test_deploy_reports_like_kubectl(deployer: KubernetesDeployer) -> None:
    """A deploy reports the set image, then each distinct `kubectl rollout status` line."""
    recorder = ProgressRecorder()
    await deployer.run(job(), recorder)
    assert [
        f"set image deployment/{NAME} app={V2}",
        "Waiting for deployment spec update to be observed...",
        f"{WAITING}0 out of 2 new replicas have been updated...",
        f"{WAITING}1 out of 2 new replicas have been updated...",
        f"{WAITING}1 old replicas are pending termination...",
        f"{WAITING}0 of 2 updated replicas are available...",
        f"{WAITING}1 of 2 updated replicas are available...",
        f'deployment "{NAME}" successfully rolled out',
    ] == recorder.messages


async def test_deploy_sets_only_the_named_containers(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """The named container gets image:version; the sidecar keeps its image."""
    await deployer.run(job(), ProgressRecorder())
    assert {"app": V2, "sidecar": "reg/envoy:1.30"} == kube.images(NS, NAME)


async def test_deploy_uses_a_strategic_merge_patch(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """The image is set the way `kubectl set image` sets it: one strategic merge patch."""
    await deployer.run(job(), ProgressRecorder())
    patches = [kind for method, _, kind in kube.requests if method == "PATCH"]
    assert ["application/strategic-merge-patch+json"] == patches


async def test_progress_carries_the_datacenter(deployer: KubernetesDeployer) -> None:
    """Every event names the job's data centre, and none of a good rollout is a failure."""
    recorder = ProgressRecorder()
    await deployer.run(job(datacenter="dc-b"), recorder)
    assert {("dc-b", False)} == {(event.datacenter, event.failed) for event in recorder.events}


async def test_deploy_through_a_kubeconfig_context(
    kube: FakeKubernetes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`context` picks the cluster and credentials from the kubeconfig."""
    config = kubeconfig(tmp_path / "config", kube.url)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
    deployer = KubernetesDeployer(
        NAME, ["app"], "reg/trade-api", NS, "dc-a", poll_seconds=0.01, timeout_seconds=TIMEOUT
    )
    await deployer.run(job(), ProgressRecorder())
    assert V2 == kube.images(NS, NAME)["app"]


async def test_no_context_falls_back_to_the_current_context(
    kube: FakeKubernetes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a cluster and without `context`, the kubeconfig's current context is used."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    config = kubeconfig(tmp_path / "config", kube.url)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
    deployer = KubernetesDeployer(
        NAME, ["app"], "reg/trade-api", NS, poll_seconds=0.01, timeout_seconds=TIMEOUT
    )
    await deployer.run(job(), ProgressRecorder())
    assert V2 == kube.images(NS, NAME)["app"]


# -- failures -----------------------------------------------------------------------------


async def test_progress_deadline_exceeded_fails(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """A rollout whose Progressing condition says ProgressDeadlineExceeded is DeployFailed."""
    kube.broken_images.add(V2)
    with pytest.raises(DeployFailed) as caught:
        await deployer.run(job(), ProgressRecorder())
    assert f'deployment "{NAME}" exceeded its progress deadline' == str(caught.value)


async def test_progress_deadline_is_reported_as_a_failed_event(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """The last event of a rollout past its deadline is marked failed."""
    kube.broken_images.add(V2)
    recorder = ProgressRecorder()
    with pytest.raises(DeployFailed):
        await deployer.run(job(), recorder)
    expected = Progress("dc-a", f'deployment "{NAME}" exceeded its progress deadline', True)
    assert expected == recorder.events[-1]


async def test_timeout_fails_with_the_last_status(kube: FakeKubernetes, token_file: Path) -> None:
    """A rollout nobody advances fails after timeout_seconds, saying where it stood."""
    kube.progress = "manual"
    deployer = KubernetesDeployer(
        NAME, ["app"], "reg/trade-api", NS, api_url=kube.url, token_file=token_file,
        timeout_seconds=1, poll_seconds=0.05,
    )  # fmt: skip
    with pytest.raises(DeployFailed) as caught:
        await deployer.run(job(), ProgressRecorder())
    expected = (
        f'deployment "{NAME}" did not finish rolling out within 1s'
        " (last: Waiting for deployment spec update to be observed...)"
    )
    assert expected == str(caught.value)


async def test_a_few_failed_reads_during_the_rollout_are_tolerated(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """Four reads of the Deployment failing in a row after the patch do not end the deploy."""
    recorder = ReadsFailAfterThePatch(kube, times=4)
    await deployer.run(job(), recorder)
    assert f'deployment "{NAME}" successfully rolled out' == recorder.messages[-1]


def lost_track(kube: FakeKubernetes) -> str:
    """What a deploy says when five reads of the Deployment fail in a row after its patch."""
    return (
        f"the Kubernetes API at {kube.url} answered 503: the server is currently unable to handle"
        f" the request (deployment/{NAME} was patched; shipbot lost track of its rollout)"
    )


async def test_losing_track_of_the_rollout_is_deploy_failed(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """Five failed reads in a row after the patch fail the deploy as DeployFailed (it may
    have changed the Deployment), saying that shipbot lost track of the rollout."""
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ReadsFailAfterThePatch(kube, times=5))
    assert (DeployFailed, lost_track(kube)) == (type(caught.value), str(caught.value))


async def test_losing_track_of_the_rollout_is_reported_as_failed(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """The last event of a rollout shipbot lost track of says so, marked failed."""
    recorder = ReadsFailAfterThePatch(kube, times=5)
    with pytest.raises(DeployFailed):
        await deployer.run(job(), recorder)
    assert Progress("dc-a", lost_track(kube), failed=True) == recorder.events[-1]


async def test_a_refused_read_after_the_patch_is_deploy_failed(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """A read the API server refuses outright (404: deleted meanwhile) after the patch is
    DeployFailed at once, not a plain DeployError: the Deployment was changed."""
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ReadsFailAfterThePatch(kube, times=1, code=404))
    assert DeployFailed is type(caught.value)


async def test_missing_deployment_is_not_found(kube: FakeKubernetes, token_file: Path) -> None:
    """A Deployment that does not exist is a DeployError naming it and the cluster."""
    deployer = KubernetesDeployer(
        "nope",
        ["app"],
        "reg/x",
        NS,
        api_url=kube.url,
        token_file=token_file,
        timeout_seconds=TIMEOUT,
    )
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ProgressRecorder())
    assert f"deployment {NS}/nope not found in {kube.url}" == str(caught.value)


async def test_credentials_in_api_url_are_never_shown(
    kube: FakeKubernetes, token_file: Path
) -> None:
    """An api_url given with user:password@ is named without them."""
    api_url = kube.url.replace("http://", "http://admin:s3cret@")
    deployer = KubernetesDeployer(
        "nope",
        ["app"],
        "reg/x",
        NS,
        api_url=api_url,
        token_file=token_file,
        timeout_seconds=TIMEOUT,
    )
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ProgressRecorder())
    assert f"deployment {NS}/nope not found in {kube.url}" == str(caught.value)


async def test_credentials_in_a_kubeconfig_server_are_never_shown(
    kube: FakeKubernetes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API server a kubeconfig context names is shown without user:password@."""
    server = kube.url.replace("http://", "http://admin:s3cret@")
    config = kubeconfig(tmp_path / "config", server)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
    deployer = KubernetesDeployer("nope", ["app"], "reg/x", NS, "dc-a", timeout_seconds=TIMEOUT)
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ProgressRecorder())
    expected = f"deployment {NS}/nope not found in kube context 'dc-a' ({kube.url})"
    assert expected == str(caught.value)


async def test_wrong_token_is_unreachable(kube: FakeKubernetes, tmp_path: Path) -> None:
    """A token the API server rejects is DeployUnreachable, and the message never shows it."""
    (tmp_path / "bad").write_text("not-the-token")
    deployer = KubernetesDeployer(
        NAME,
        ["app"],
        "reg/trade-api",
        NS,
        api_url=kube.url,
        token_file=tmp_path / "bad",
        timeout_seconds=TIMEOUT,
    )
    with pytest.raises(DeployUnreachable) as caught:
        await deployer.run(job(), ProgressRecorder())
    expected = (
        f"the Kubernetes API at {kube.url} rejected shipbot's credentials"
        " (401 Unauthorized): check its token"
    )
    assert expected == str(caught.value)


async def test_missing_permission_names_the_rbac_rule(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """A 403 is DeployUnreachable quoting the API server's reason (verb, resource, namespace)."""
    kube.forbidden.add("patch")
    with pytest.raises(DeployUnreachable) as caught:
        await deployer.run(job(), ProgressRecorder())
    expected = (
        f'shipbot lacks permission at {kube.url} (403 Forbidden): deployments.apps "{NAME}"'
        ' is forbidden: User "system:serviceaccount:shipbot:shipbot" cannot patch resource'
        f' "deployments" in API group "apps" in the namespace "{NS}"'
    )
    assert expected == str(caught.value)


async def test_nothing_listening_is_unreachable() -> None:
    """An API URL where nothing listens is DeployUnreachable: connection refused."""
    sock = bound_socket()  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with sock, pytest.raises(DeployUnreachable) as caught:
        await KubernetesDeployer(NAME, ["app"], "reg/x", api_url=url, timeout_seconds=TIMEOUT).run(
            job(), ProgressRecorder()
        )
    assert f"cannot reach the Kubernetes API at {url}: connection refused" == str(caught.value)


async def test_unknown_context_is_unreachable_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A context the kubeconfig lacks is DeployUnreachable naming that context."""
    config = kubeconfig(tmp_path / "config", "http://127.0.0.1:9")
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
    deployer = KubernetesDeployer(NAME, ["app"], "reg/x", context="dc-z", timeout_seconds=TIMEOUT)
    with pytest.raises(DeployUnreachable) as caught:
        await deployer.run(job(), ProgressRecorder())
    assert str(caught.value).startswith("cannot use the Kubernetes config of kube context 'dc-z'")


async def test_missing_token_file_is_unreachable(kube: FakeKubernetes, tmp_path: Path) -> None:
    """A token_file that does not exist is DeployUnreachable naming the file."""
    missing = tmp_path / "token"
    deployer = KubernetesDeployer(
        NAME, ["app"], "reg/x", api_url=kube.url, token_file=missing, timeout_seconds=TIMEOUT
    )
    with pytest.raises(DeployUnreachable) as caught:
        await deployer.run(job(), ProgressRecorder())
    assert str(missing) in str(caught.value)


async def test_unknown_container_is_refused_before_any_change(
    kube: FakeKubernetes, token_file: Path
) -> None:
    """A container the Deployment lacks is a DeployError listing its containers; no PATCH."""
    deployer = KubernetesDeployer(
        NAME,
        ["app", "worker"],
        "reg/x",
        NS,
        api_url=kube.url,
        token_file=token_file,
        timeout_seconds=TIMEOUT,
    )
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ProgressRecorder())
    patches = [path for method, path, _ in kube.requests if method == "PATCH"]
    expected = f"deployment {NS}/{NAME} has no container worker (it has app, sidecar)"
    assert (expected, []) == (str(caught.value), patches)


async def test_version_that_is_no_image_tag_is_refused_before_any_change(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """A version an image tag cannot hold (a branch with a slash) is refused; nothing is sent."""
    with pytest.raises(DeployError) as caught:
        await deployer.run(job("release/2.0"), ProgressRecorder())
    expected = (
        "version 'release/2.0' cannot be an image tag (letters, digits, _ . -;"
        " not starting with . or -; at most 128 characters)"
    )
    assert (expected, []) == (str(caught.value), kube.requests)


async def test_paused_deployment_is_refused(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """A paused Deployment would never roll out: refused, saying how to resume it."""
    kube.edit(NS, NAME, {"spec": {"paused": True}})
    with pytest.raises(DeployError) as caught:
        await deployer.run(job(), ProgressRecorder())
    expected = (
        f"deployment {NS}/{NAME} is paused; resume it first with"
        f" 'kubectl rollout resume deployment/{NAME} -n {NS}'"
    )
    assert expected == str(caught.value)


async def test_cancelling_does_not_wait_for_a_hanging_call(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """Cancelling run() returns at once, while its API call is still hanging."""
    kube.stalled = True
    running = asyncio.create_task(deployer.run(job(), ProgressRecorder()))
    await until(lambda: kube.in_flight == 1)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    hanging, kube.stalled = kube.in_flight, False  # released: the worker thread can finish
    assert 1 == hanging


# -- rollback -----------------------------------------------------------------------------


async def test_rollback_to_previous_revision_is_rollout_undo(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """Rolling back to the previous revision's version reports a rollout undo to it."""
    await deployer.run(job("v2"), ProgressRecorder())
    recorder = ProgressRecorder()
    await deployer.run(job("v1", "rollback"), recorder)
    assert f"rollout undo deployment/{NAME} to revision 1 (app={V1})" == recorder.messages[0]


async def test_rollout_undo_restores_the_whole_pod_template(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """After undo the template is the old ReplicaSet's minus pod-template-hash, so what a
    person changed beside the image in the bad revision is gone too."""
    edit = image_patch(V2)
    edit["spec"]["template"]["metadata"] = {"annotations": {"note": "v2 only"}}
    kube.edit(NS, NAME, edit)
    kube.settle()
    await deployer.run(job("v1", "rollback"), ProgressRecorder())
    old = kube.replicasets(NS, NAME)[-1]["spec"]["template"]
    del old["metadata"]["labels"]["pod-template-hash"]
    assert old == kube.deployment(NS, NAME)["spec"]["template"]


async def test_rollout_undo_reuses_the_old_replicaset(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """The controller brings the old ReplicaSet back as the newest revision, as Kubernetes does."""
    await deployer.run(job("v2"), ProgressRecorder())
    await deployer.run(job("v1", "rollback"), ProgressRecorder())
    revisions = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        for rs in kube.replicasets(NS, NAME)
    }
    assert {V2: "2", V1: "3"} == revisions


async def test_rollback_past_the_previous_revision_sets_the_image(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """Rolling back to a version older than the previous revision is a set image, saying so."""
    await deployer.run(job("v2"), ProgressRecorder())
    await deployer.run(job("v3"), ProgressRecorder())
    recorder = ProgressRecorder()
    await deployer.run(job("v1", "rollback"), recorder)
    expected = (f"set image deployment/{NAME} app={V1} (v1 is not the previous revision)", V1)
    assert expected == (recorder.messages[0], kube.images(NS, NAME)["app"])


async def test_rollback_to_the_running_version_changes_nothing(
    deployer: KubernetesDeployer, kube: FakeKubernetes
) -> None:
    """Rolling back to the version already running leaves the Deployment's revisions alone."""
    await deployer.run(job("v2"), ProgressRecorder())
    await deployer.run(job("v2", "rollback"), ProgressRecorder())
    assert [{"app": V1, "sidecar": "reg/envoy:1.30"}, {"app": V2, "sidecar": "reg/envoy:1.30"}] == (
        kube.history(NS, NAME)
    )


# -- the fake itself ----------------------------------------------------------------------


def test_fake_starts_a_deployment_rolled_out_at_revision_one() -> None:
    """add_deployment leaves one ReplicaSet at revision 1 and the Deployment rolled out."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        revisions = [
            rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            for rs in fake.replicasets(NS, NAME)
        ]
        assert (["1"], True) == (revisions, fake.rolled_out(NS, NAME))


def test_fake_patch_of_the_template_bumps_generation() -> None:
    """Like the API server, a PATCH that changes the spec bumps metadata.generation at once."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        answer = httpx.patch(fake.url + DEPLOYMENT, json=image_patch(V2), headers=SMP)
        assert (200, 2) == (answer.status_code, answer.json()["metadata"]["generation"])


def test_fake_patch_of_labels_keeps_generation() -> None:
    """A metadata-only PATCH (JSON merge) leaves metadata.generation alone."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        headers = {"Content-Type": "application/merge-patch+json"}
        body = {"metadata": {"labels": {"team": "trading"}}}
        answer = httpx.patch(fake.url + DEPLOYMENT, json=body, headers=headers)
        assert 1 == answer.json()["metadata"]["generation"]


def test_fake_controller_creates_an_owned_replicaset_per_template() -> None:
    """A new template gets a ReplicaSet with the hash label, an ownerReference and revision 2."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        fake.edit(NS, NAME, image_patch(V2))
        fake.settle()
        rs = fake.replicasets(NS, NAME)[-1]
        uid = fake.deployment(NS, NAME)["metadata"]["uid"]
        meta = rs["metadata"]
        actual = (
            meta["labels"]["pod-template-hash"] == meta["name"].removeprefix(f"{NAME}-"),
            [(ref["kind"], ref["uid"], ref["controller"]) for ref in meta["ownerReferences"]],
            meta["annotations"]["deployment.kubernetes.io/revision"],
        )
        assert (True, [("Deployment", uid, True)], "2") == actual


def test_fake_steps_a_rollout_through_kubectls_states() -> None:
    """controller_step advances one state at a time until the rollout is complete."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1}, replicas=2)
        fake.edit(NS, NAME, image_patch(V2))
        seen = []
        while fake.controller_step():
            status = fake.deployment(NS, NAME)["status"]
            seen.append(
                tuple(
                    status.get(k, 0) for k in ("updatedReplicas", "replicas", "availableReplicas")
                )
            )
        assert [(0, 2, 2), (1, 3, 2), (1, 2, 1), (2, 3, 1), (2, 2, 0), (2, 2, 1), (2, 2, 2)] == seen


def test_fake_broken_image_exceeds_the_progress_deadline() -> None:
    """A rollout to an image in broken_images ends with Progressing/ProgressDeadlineExceeded."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        fake.broken_images.add(V2)
        fake.edit(NS, NAME, image_patch(V2))
        fake.settle()
        [condition] = fake.deployment(NS, NAME)["status"]["conditions"]
        actual = (condition["type"], condition["status"], condition["reason"])
        assert ("Progressing", "False", "ProgressDeadlineExceeded") == actual


async def test_fake_auto_mode_rolls_out_by_itself() -> None:
    """In auto mode a background controller completes rollouts in every namespace unasked."""
    with FakeKubernetes(progress="auto", step_seconds=0.01) as fake:
        for namespace in ("dc-a", "dc-b"):
            fake.add_deployment(namespace, NAME, {"app": V1}, replicas=2)
            fake.edit(namespace, NAME, image_patch(V2))
        await until(lambda: fake.rolled_out("dc-a", NAME) and fake.rolled_out("dc-b", NAME))
        assert [V1, V2] == [images["app"] for images in fake.history("dc-b", NAME)]


def test_fake_answers_status_objects() -> None:
    """Errors are v1 Status objects: 401 without the token, 404 for a missing Deployment."""
    with FakeKubernetes(token=TOKEN) as fake:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        anonymous = httpx.get(fake.url + DEPLOYMENT).json()
        missing = httpx.get(fake.url + DEPLOYMENT, headers=bearer).json()
        actual = [(s["kind"], s["code"], s["reason"]) for s in (anonymous, missing)]
        assert [("Status", 401, "Unauthorized"), ("Status", 404, "NotFound")] == actual


def test_fake_refuses_a_stale_resource_version() -> None:
    """A PATCH carrying an old metadata.resourceVersion is a 409 Conflict, and changes nothing."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        body = image_patch(V2) | {"metadata": {"resourceVersion": "1"}}
        answer = httpx.patch(fake.url + DEPLOYMENT, json=body, headers=SMP)
        assert (409, V1) == (answer.status_code, fake.images(NS, NAME)["app"])


def test_fake_lists_replicasets_by_label_selector() -> None:
    """The ReplicaSet list answers only those matching labelSelector."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        fake.add_deployment(NS, "quote-api", {"app": "reg/quote-api:v1"})
        url = f"{fake.url}/apis/apps/v1/namespaces/{NS}/replicasets"
        answer = httpx.get(url, params={"labelSelector": "app=quote-api"}).json()
        assert ["ReplicaSetList", ["quote-api"]] == [
            answer["kind"],
            [rs["metadata"]["ownerReferences"][0]["name"] for rs in answer["items"]],
        ]


def test_fake_fail_reads_fails_the_next_reads_only() -> None:
    """fail_reads(2) answers the next two GETs of a Deployment 503, the third as usual."""
    with FakeKubernetes() as fake:
        fake.add_deployment(NS, NAME, {"app": V1})
        fake.fail_reads(2)
        codes = [httpx.get(fake.url + DEPLOYMENT).status_code for _ in range(3)]
        assert [503, 503, 200] == codes
