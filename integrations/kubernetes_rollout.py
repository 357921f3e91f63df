"""What kubectl computes about a Deployment's rollout, as pure functions on API objects.

Each mirrors kubectl's own code (https://github.com/kubernetes/kubectl):

- :func:`rollout_status` is ``kubectl rollout status``
  (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_status/),
  its DeploymentStatusViewer
  (https://github.com/kubernetes/kubectl/blob/master/pkg/polymorphichelpers/rollout_status.go);
- :func:`previous` and :func:`undo_patch` are ``kubectl rollout undo``
  (https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_undo/),
  its DeploymentRollbacker
  (https://github.com/kubernetes/kubectl/blob/master/pkg/polymorphichelpers/rollback.go),
  reading revisions as
  https://github.com/kubernetes/kubectl/blob/master/pkg/util/deployment/deployment.go does.

Objects are apps/v1 Deployments and ReplicaSets as the API serves them, as plain JSON dicts.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.ports.deployer import DeployFailed

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


def rollout_status(deployment: Obj) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer: the message to show, and whether the rollout is done;
    DeployFailed once the Deployment's progress deadline has passed."""
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


def previous(deployment: Obj, replicasets: list[Obj]) -> Obj | None:
    """The ReplicaSet with the highest revision below the Deployment's current one."""
    revisions = [revision(rs) for rs in replicasets]
    current = revision(deployment) or max(revisions, default=0)
    older = [rs for rs in replicasets if revision(rs) < current]
    return max(older, key=revision, default=None)


def undo_patch(deployment: Obj, replicaset: Obj) -> list[Obj]:
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


def containers(template: Obj) -> list[Obj]:
    """A pod template's containers."""
    return list((template.get("spec") or {}).get("containers") or [])


def revision(obj: Obj) -> int:
    """A Deployment's or ReplicaSet's revision annotation; 0 when it has none."""
    value = (obj["metadata"].get("annotations") or {}).get(REVISION, "")
    return int(value) if value.isdigit() else 0


def controllers(obj: Obj) -> list[str]:
    """The uids of an object's controlling owners."""
    return [
        ref["uid"] for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")
    ]
