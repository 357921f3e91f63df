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
Once the Deployment is patched, every failure is DeployFailed (it may have changed), and a
look at it may fail ``_MISSED_READS - 1`` times in a row before shipbot gives up on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from bot.ports.deployer import (
    DeployError,
    DeployFailed,
    DeployJob,
    DeployUnreachable,
    Progress,
    ProgressSink,
)
from integrations.kubernetes_api import DeploymentApi
from integrations.kubernetes_rollout import (
    Obj,
    containers,
    previous,
    revision,
    rollout_status,
    undo_patch,
)

log = logging.getLogger(__name__)

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
    timeout_seconds: int = 600
    poll_seconds: float = 1.0

    async def run(self, job: DeployJob, report: ProgressSink) -> None:
        """Deploy or roll back ``job``; raise DeployError (or a subclass) unless it rolls out."""
        if not _TAG.fullmatch(job.version):
            raise DeployError(
                f"version {job.version!r} cannot be an image tag (letters, digits, _ . -;"
                " not starting with . or -; at most 128 characters)"
            )
        api = await DeploymentApi.connect(self)
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

    async def _set_image(self, api: DeploymentApi, current: Obj, version: str) -> str:
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
        await api.patch({"metadata": {"resourceVersion": rv}, "spec": spec}, _STRATEGIC)
        return f"set image deployment/{self.deployment} {self._pairs(image)}"

    async def _rollback(self, api: DeploymentApi, current: Obj, version: str) -> str:
        """``kubectl rollout undo`` when ``version`` is the previous revision, else set image."""
        image = f"{self.image}:{version}"
        before = previous(current, await api.replicasets(current))
        if before is None or not self._runs(before, image) or self._runs(current, image):
            why = "already running" if self._runs(current, image) else "not the previous revision"
            return f"{await self._set_image(api, current, version)} ({version} is {why})"
        await api.patch(undo_patch(current, before), _JSON_PATCH)
        to = f"to revision {revision(before)}"
        return f"rollout undo deployment/{self.deployment} {to} ({self._pairs(image)})"

    async def _wait(self, api: DeploymentApi, datacenter: str, report: ProgressSink) -> None:
        """After the patch: follow the rollout; any failure is DeployFailed, reported as such."""
        watch = _Watch(api, datacenter, report, self.poll_seconds)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await watch.until_done()
        except DeployFailed as failure:
            await report(Progress(datacenter, str(failure), failed=True))
            raise
        except DeployError as error:  # unreachable, or refused: the Deployment may have changed
            lost = DeployFailed(
                f"{error} (deployment/{self.deployment} was patched; shipbot lost track of"
                " its rollout)"
            )
            await report(Progress(datacenter, str(lost), failed=True))
            raise lost from error
        except TimeoutError:
            timeout = DeployFailed(
                f'deployment "{self.deployment}" did not finish rolling out'
                f" within {self.timeout_seconds}s (last: {watch.said or 'no status'})"
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
        images = {c["name"]: c.get("image") for c in containers(owner["spec"]["template"])}
        return all(images.get(name) == image for name in self.containers)

    def _pairs(self, image: str) -> str:
        return " ".join(f"{name}={image}" for name in self.containers)

    @property
    def _ref(self) -> str:
        return f"{self.namespace}/{self.deployment}"


@dataclass
class _Watch:
    """Polls one Deployment like ``kubectl rollout status``, reporting each new message once."""

    api: DeploymentApi
    datacenter: str
    report: ProgressSink
    poll_seconds: float
    said: str = ""

    async def until_done(self) -> None:
        missed = 0
        while True:
            try:
                deployment = await self.api.deployment()
            except DeployUnreachable as error:
                missed += 1
                if missed >= _MISSED_READS:
                    raise
                log.warning("%s; looking at the deployment again", error)
            else:
                missed = 0
                message, done = rollout_status(deployment)
                if message != self.said:
                    await self.report(Progress(self.datacenter, message))
                    self.said = message
                if done:
                    return
            await asyncio.sleep(self.poll_seconds)
