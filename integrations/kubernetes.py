"""Kubernetes deployer: set the image of a Deployment's containers, or roll it back, and wait.

Upstream: the apps/v1 Deployment and ReplicaSet resources of the Kubernetes API
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/,
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/),
called through the official client (https://github.com/kubernetes-client/python).

A deploy does what ``kubectl set image`` does (a strategic merge patch of the named
containers). A rollback to the previous revision does what ``kubectl rollout undo`` does (the
previous ReplicaSet's pod template back into the Deployment); to any older version it sets the
image. Both then wait the way ``kubectl rollout status`` does. Each patch carries the
resourceVersion it was computed from, so a Deployment changed meanwhile is refused, not clobbered.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from integrations.base import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    Progress,
    ProgressSink,
)

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
_HASH_LABEL = "pod-template-hash"
_KEEP_ANNOTATIONS = frozenset(  # rollout undo keeps these of the Deployment's, takes the rest
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)
_STRATEGIC = "application/strategic-merge-patch+json"
_JSON_PATCH = "application/json-patch+json"
_REQUEST_TIMEOUT = (5.0, 30.0)  # connect, read: each API call is short, so cancelling is prompt
_MAX_REASON = 300
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the OCI distribution spec's tag


@dataclass(frozen=True)
class KubernetesDeployer:
    """Rolls ``image:<version>`` out to ``containers`` of one Deployment and waits for it."""

    deployment: str
    containers: list[str]
    image: str  # repository without tag
    namespace: str = "default"
    context: str | None = None  # a kubeconfig context
    api_url: str | None = None  # else: the API server directly, with token_file and ca_file
    token_file: Path | None = None
    ca_file: Path | None = None
    timeout_seconds: int = 600
    poll_seconds: float = 1.0

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Deploy or roll back ``job``; raise DeployError (or a subclass) unless it rolls out."""
        if not _TAG.fullmatch(job.version):
            raise DeployError(
                f"version {job.version!r} cannot be an image tag (letters, digits, _ . -;"
                " not starting with . or -; at most 128 characters)"
            )
        api = await _Api.connect(self)
        try:
            current = await api.deployment()
            self._refuse_paused(current)
            if job.action == "rollback":
                change = await self._rollback(api, current, job.version)
            else:
                change = await self._set_image(api, current, job.version)
            await report(Progress(job.datacenter, change))
            await self._wait(api, job.datacenter, report)
        finally:
            api.close()

    async def _set_image(self, api: _Api, current: Obj, version: str) -> str:
        """``kubectl set image``: patch the named containers, merged by name."""
        names = [container["name"] for container in _containers(current["spec"]["template"])]
        if missing := [name for name in self.containers if name not in names]:
            raise DeployError(
                f"deployment {self._ref} has no container {', '.join(missing)}"
                f" (it has {', '.join(names) or 'none'})"
            )
        image = f"{self.image}:{version}"
        containers = [{"name": name, "image": image} for name in self.containers]
        rv = current["metadata"]["resourceVersion"]
        spec = {"template": {"spec": {"containers": containers}}}
        await api.patch({"metadata": {"resourceVersion": rv}, "spec": spec}, _STRATEGIC)
        return f"set image deployment/{self.deployment} {self._pairs(image)}"

    async def _rollback(self, api: _Api, current: Obj, version: str) -> str:
        """``kubectl rollout undo`` when ``version`` is the previous revision, else set image."""
        image = f"{self.image}:{version}"
        previous = _previous(current, await api.replicasets(current))
        if previous is None or not self._runs(previous, image) or self._runs(current, image):
            why = "already running" if self._runs(current, image) else "not the previous revision"
            return f"{await self._set_image(api, current, version)} ({version} is {why})"
        await api.patch(_undo_patch(current, previous), _JSON_PATCH)
        to = f"to revision {_revision(previous)}"
        return f"rollout undo deployment/{self.deployment} {to} ({self._pairs(image)})"

    async def _wait(self, api: _Api, datacenter: str, report: ProgressSink) -> None:
        """Poll like ``kubectl rollout status``, reporting each new message, until done."""
        said = ""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                while True:
                    message, done = _rollout_status(await api.deployment())
                    if message != said:
                        await report(Progress(datacenter, message))
                        said = message
                    if done:
                        return
                    await asyncio.sleep(self.poll_seconds)
        except DeployFailed as failure:
            await report(Progress(datacenter, str(failure), failed=True))
            raise
        except TimeoutError:
            timeout = DeployFailed(
                f'deployment "{self.deployment}" did not finish rolling out'
                f" within {self.timeout_seconds}s (last: {said or 'no status'})"
            )
            await report(Progress(datacenter, str(timeout), failed=True))
            raise timeout from None

    def _refuse_paused(self, current: Obj) -> None:
        if current["spec"].get("paused"):
            raise DeployError(
                f"deployment {self._ref} is paused; resume it first with"
                f" 'kubectl rollout resume deployment/{self.deployment} -n {self.namespace}'"
            )

    def _runs(self, owner: Obj, image: str) -> bool:
        """Whether each named container of a Deployment or ReplicaSet template runs ``image``."""
        images = {c["name"]: c.get("image") for c in _containers(owner["spec"]["template"])}
        return all(images.get(name) == image for name in self.containers)

    def _pairs(self, image: str) -> str:
        return " ".join(f"{name}={image}" for name in self.containers)

    @property
    def _ref(self) -> str:
        return f"{self.namespace}/{self.deployment}"


class _Api:
    """One run's client for one Deployment: calls in worker threads, failures as shipbot's."""

    def __init__(self, deployer: KubernetesDeployer, api_client: client.ApiClient, where: str):
        self._client, self.where = api_client, where
        self._apps = client.AppsV1Api(api_client)
        self._ref = (deployer.deployment, deployer.namespace)

    @classmethod
    async def connect(cls, deployer: KubernetesDeployer) -> _Api:
        where = _cluster(deployer)
        try:
            api_client = await asyncio.to_thread(_api_client, deployer)
        except (ConfigException, OSError, yaml.YAMLError) as exc:
            message = f"cannot use the Kubernetes config of {where}: {_trim(exc)}"
            raise DeployUnreachable(message) from exc
        host = api_client.configuration.host
        same = where.rstrip("/") == host
        return cls(deployer, api_client, where if same else f"{where} ({host})")

    async def deployment(self) -> Obj:
        return await self._call(self._apps.read_namespaced_deployment, *self._ref)

    async def replicasets(self, deployment: Obj) -> list[Obj]:
        """The ReplicaSets this Deployment controls (its selector, then ownerReferences)."""
        labels = deployment["spec"]["selector"].get("matchLabels") or {}
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        found = await self._call(
            self._apps.list_namespaced_replica_set, self._ref[1], label_selector=selector
        )
        uid = deployment["metadata"]["uid"]
        return [rs for rs in found["items"] if uid in _controllers(rs)]

    async def patch(self, body: Obj | list[Obj], content_type: str) -> Obj:
        return await self._call(
            self._apps.patch_namespaced_deployment, *self._ref, body, _content_type=content_type
        )

    def close(self) -> None:
        self._client.close()

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Obj:
        def call() -> Obj:
            kwargs.update(_preload_content=False, _request_timeout=_REQUEST_TIMEOUT)
            response = method(*args, **kwargs)
            return dict(json.loads(response.data))

        try:
            return await asyncio.to_thread(call)
        except ApiException as exc:
            raise self._refused(exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise DeployUnreachable(
                f"cannot reach the Kubernetes API at {self.where}: {_why(exc)}"
            ) from exc

    def _refused(self, exc: ApiException) -> DeployError:
        status, message = exc.status or 0, _status_message(exc)
        name, namespace = self._ref
        if status == 0:  # the client reports TLS failures this way, the reason naming the URL
            tls = re.search(r"\[SSL[^\]]*\][^'\")]*", str(exc.reason)) or ["TLS failed"]
            return DeployUnreachable(f"cannot reach the Kubernetes API at {self.where}: {tls[0]}")
        if status == 401:
            return DeployUnreachable(
                f"the Kubernetes API at {self.where} rejected shipbot's credentials"
                " (401 Unauthorized): check its token"
            )
        if status == 403:
            return DeployUnreachable(
                f"shipbot lacks permission at {self.where} (403 Forbidden): {message}"
            )
        if status == 404:
            return DeployError(f"deployment {namespace}/{name} not found in {self.where}")
        if status == 409:
            return DeployError(
                f"deployment {namespace}/{name} changed while shipbot was updating it; try again"
            )
        return DeployError(f"the Kubernetes API at {self.where} answered {status}: {message}")


def _cluster(deployer: KubernetesDeployer) -> str:
    """How a person would name the cluster this deployer talks to."""
    if deployer.api_url:
        return deployer.api_url
    if deployer.context:
        return f"kube context {deployer.context!r}"
    return "the in-cluster service account or the kubeconfig's current context"


def _api_client(deployer: KubernetesDeployer) -> client.ApiClient:
    """Worker thread: a fresh ApiClient; the client's global default config is never touched."""
    if deployer.api_url:
        settings = client.Configuration(host=deployer.api_url.rstrip("/"))
        if deployer.token_file:
            token = deployer.token_file.read_text(encoding="utf-8").strip()
            if not token:
                raise ConfigException(f"token_file {deployer.token_file} is empty")
            settings.api_key = {"authorization": token}
            settings.api_key_prefix = {"authorization": "Bearer"}
        if deployer.ca_file:
            if not deployer.ca_file.is_file():
                raise ConfigException(f"ca_file {deployer.ca_file} not found")
            settings.ssl_ca_cert = str(deployer.ca_file)
        return client.ApiClient(settings)
    if deployer.context:
        return config.new_client_from_config(context=deployer.context)
    settings = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=settings)
    except ConfigException:
        config.load_kube_config(client_configuration=settings)
    return client.ApiClient(settings)


def _rollout_status(deployment: Obj) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer: the message to show, and whether the rollout is done."""
    name, spec = deployment["metadata"]["name"], deployment["spec"]
    status = deployment.get("status") or {}
    if deployment["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    progressing = [c for c in status.get("conditions") or [] if c.get("type") == "Progressing"]
    if progressing and progressing[0].get("reason") == "ProgressDeadlineExceeded":
        raise DeployFailed(f'deployment "{name}" exceeded its progress deadline')
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    desired, total = spec.get("replicas"), status.get("replicas", 0)
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    if desired is not None and updated < desired:
        return f"{waiting}{updated} out of {desired} new replicas have been updated...", False
    if total > updated:
        return f"{waiting}{total - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def _previous(deployment: Obj, replicasets: list[Obj]) -> Obj | None:
    """The ReplicaSet with the highest revision below the Deployment's current one."""
    revisions = [_revision(rs) for rs in replicasets]
    current = _revision(deployment) or max(revisions, default=0)
    older = [rs for rs in replicasets if _revision(rs) < current]
    return max(older, key=_revision, default=None)


def _undo_patch(deployment: Obj, replicaset: Obj) -> list[Obj]:
    """kubectl rollout undo's JSON patch: the ReplicaSet's template (minus its hash label) and
    annotations (minus the controller's), guarded by the Deployment's resourceVersion."""
    template = copy.deepcopy(replicaset["spec"]["template"])
    (template.get("metadata") or {}).get("labels", {}).pop(_HASH_LABEL, None)
    own = deployment["metadata"].get("annotations") or {}
    theirs = replicaset["metadata"].get("annotations") or {}
    annotations = {key: value for key, value in own.items() if key in _KEEP_ANNOTATIONS}
    annotations |= {key: value for key, value in theirs.items() if key not in _KEEP_ANNOTATIONS}
    rv = deployment["metadata"]["resourceVersion"]
    return [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]


def _containers(template: Obj) -> list[Obj]:
    return list((template.get("spec") or {}).get("containers") or [])


def _revision(obj: Obj) -> int:
    value = (obj["metadata"].get("annotations") or {}).get(REVISION, "")
    return int(value) if value.isdigit() else 0


def _controllers(obj: Obj) -> list[str]:
    return [
        ref["uid"] for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")
    ]


def _status_message(exc: ApiException) -> str:
    """The message of the API server's Status object, else the HTTP reason."""
    with contextlib.suppress(ValueError, TypeError, KeyError):
        return _trim(json.loads(exc.body or "")["message"])
    return _trim(exc.reason or "no reason given")


def _why(exc: Exception) -> str:
    """A short reason for a transport failure; urllib3's own text names the whole URL."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return "host name not found"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return "connection refused" if "refused" in str(reason).lower() else "cannot connect"
    if isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        return "timed out"
    if isinstance(reason, urllib3.exceptions.ProtocolError):
        return "connection closed by the server"
    return type(reason).__name__


def _trim(value: object) -> str:
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
