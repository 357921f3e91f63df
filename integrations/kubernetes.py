"""Kubernetes deployer: set the image of a Deployment's containers, or roll it back, and wait.

Upstream: the apps/v1 Deployment and ReplicaSet resources of the Kubernetes API
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/,
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/),
called through the official client (https://github.com/kubernetes-client/python), see
integrations/kubernetes_api.py; what kubectl computes is in integrations/kubernetes_rollout.py.

A deploy does what ``kubectl set image`` does (a strategic merge patch of the named
containers). A rollback to the previous revision does what ``kubectl rollout undo`` does (the
previous ReplicaSet's pod template back into the Deployment); to any older version it sets the
image. Both then wait the way ``kubectl rollout status`` does. Each patch carries the
resourceVersion it was computed from, so a Deployment changed meanwhile is refused, not clobbered.
The rollout is followed by the rules of integrations/follow.py, ``timeout_seconds`` counted
from the patch. Once the Deployment is patched, every failure is DeployFailed (it may have
changed), said as the rollout's last line as kubectl prints it, and a look at it may fail
``_MISSED_READS - 1`` times in a row before shipbot gives up on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.ports.deployer import DeployError, DeployFailed, DeployJob, ProgressSink
from integrations.follow import Reporter, Rules, Seen, follow
from integrations.kubernetes_api import DeploymentApi
from integrations.kubernetes_rollout import (
    Obj,
    containers,
    previous,
    revision,
    rollout_status,
    undo_patch,
)

_STRATEGIC = "application/strategic-merge-patch+json"
_JSON_PATCH = "application/json-patch+json"
_MISSED_READS = 5  # the Deployment may be unreadable this many looks in a row before giving up
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
    timeout_seconds: int = field(kw_only=True)  # from the catalog, which has the defaults
    poll_seconds: float = 1.0

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Deploy or roll back ``job``; raise DeployError (or a subclass) unless it rolls out."""
        if not _TAG.fullmatch(job.version):
            raise DeployError(
                f"version {job.version!r} cannot be an image tag (letters, digits, _ . -;"
                " not starting with . or -; at most 128 characters)"
            )
        reporter = Reporter(job.datacenter, report)
        api = await DeploymentApi.connect(self)
        try:
            patch = await self._patch(api, job)
            rules = Rules(self.timeout_seconds, self.poll_seconds, lost_after=_MISSED_READS)
            await follow(_Rollout(self, api, patch, reporter), rules, reporter)
        except DeployFailed as failure:  # as kubectl, the rollout's last line says why it failed
            await reporter.say(str(failure), failed=True, topic="failed")
            raise
        finally:
            api.close()

    async def _patch(self, api: DeploymentApi, job: DeployJob) -> _Patch:
        current = await api.deployment()
        self._refuse_paused(current)
        if job.action == "rollback":
            return await self._rollback(api, current, job.version)
        return self._set_image(current, job.version)

    def _set_image(self, current: Obj, version: str) -> _Patch:
        """``kubectl set image``: patch the named containers, merged by name."""
        names = [container["name"] for container in containers(current["spec"]["template"])]
        if missing := [name for name in self.containers if name not in names]:
            raise DeployError(
                f"deployment {self._ref} has no container {', '.join(missing)}"
                f" (it has {', '.join(names) or 'none'})"
            )
        image = f"{self.image}:{version}"
        patched = [{"name": name, "image": image} for name in self.containers]
        rv = current["metadata"]["resourceVersion"]
        spec = {"template": {"spec": {"containers": patched}}}
        body = {"metadata": {"resourceVersion": rv}, "spec": spec}
        return _Patch(
            body, _STRATEGIC, f"set image deployment/{self.deployment} {self._pairs(image)}"
        )

    async def _rollback(self, api: DeploymentApi, current: Obj, version: str) -> _Patch:
        """``kubectl rollout undo`` when ``version`` is the previous revision, else set image."""
        image = f"{self.image}:{version}"
        before = previous(current, await api.replicasets(current))
        if before is None or not self._runs(before, image) or self._runs(current, image):
            why = "already running" if self._runs(current, image) else "not the previous revision"
            patch = self._set_image(current, version)
            return _Patch(patch.body, patch.content_type, f"{patch.says} ({version} is {why})")
        to = f"to revision {revision(before)}"
        says = f"rollout undo deployment/{self.deployment} {to} ({self._pairs(image)})"
        return _Patch(undo_patch(current, before), _JSON_PATCH, says)

    def _refuse_paused(self, current: Obj) -> None:
        if current["spec"].get("paused"):
            raise DeployError(
                f"deployment {self._ref} is paused; resume it first with"
                f" 'kubectl rollout resume deployment/{self.deployment} -n {self.namespace}'"
            )

    def _runs(self, owner: Obj, image: str) -> bool:
        """Whether each named container of a Deployment or ReplicaSet template runs ``image``."""
        images = {c["name"]: c.get("image") for c in containers(owner["spec"]["template"])}
        return all(images.get(name) == image for name in self.containers)

    def _pairs(self, image: str) -> str:
        return " ".join(f"{name}={image}" for name in self.containers)

    @property
    def _ref(self) -> str:
        return f"{self.namespace}/{self.deployment}"


@dataclass(frozen=True)
class _Patch:
    """A change to the Deployment, ready to send, and what kubectl would print for it."""

    body: Obj | list[Obj]
    content_type: str
    says: str


@dataclass(frozen=True)
class _Rollout:
    """The Kubernetes side of following one rollout (an integrations.follow.Tool): read the
    Deployment like ``kubectl rollout status``."""

    deployer: KubernetesDeployer
    api: DeploymentApi
    patch: _Patch
    reporter: Reporter

    async def start(self) -> Obj:
        patched = await self.api.patch(self.patch.body, self.patch.content_type)
        await self.reporter.say(self.patch.says)
        return patched

    async def read(self, started: Obj) -> Seen:
        message, done = rollout_status(await self.api.deployment())
        await self.reporter.say(message)
        return Seen.DONE if done else Seen.RUNNING

    async def cancel(self, started: Obj | None) -> None:
        """Nothing to cancel: the Deployment rolls on, and the domain rolls it back."""

    def lost(self, started: Obj) -> str:
        return (
            f"deployment/{self.deployer.deployment} was patched; shipbot lost track of its rollout"
        )

    def overdue(self, started: Obj | None, last: str) -> str:
        name, seconds = self.deployer.deployment, self.deployer.timeout_seconds
        within = f"did not finish rolling out within {seconds}s"
        return f'deployment "{name}" {within} (last: {last or "no status"})'
