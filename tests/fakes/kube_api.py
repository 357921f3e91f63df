"""A fake Kubernetes API server over real HTTP: apps/v1 Deployments and their ReplicaSets.

It answers the documented REST shapes
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/) for
``GET``/``PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}`` (strategic merge, JSON merge
and JSON patch) and ``GET /apis/apps/v1/namespaces/{ns}/replicasets?labelSelector=k=v,...``;
errors are v1 Status objects (401 without the bearer token, 403 for a verb in ``forbidden``, 404,
409 on a stale resourceVersion, 415, 422). Like the API server, a PATCH that changes the spec
bumps ``metadata.generation``. The test plays the deployment controller with
:meth:`FakeKubernetes.controller_step`; with ``progress="on_read"`` every GET of a Deployment
answers and then takes one step, and with ``progress="auto"`` a thread steps every
``step_seconds``. A rollout whose image is in ``broken_images`` never becomes available and ends
with the Progressing condition's reason ProgressDeadlineExceeded. With
:meth:`FakeKubernetes.fail_reads` the next reads of a Deployment fail (503, as while the API
server restarts).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import http
import itertools
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .http_server import BackgroundServer

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
Progression = Literal["manual", "on_read", "auto"]

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
APPS = "/apis/apps/v1/namespaces/{namespace}"
MERGE_KEYS = {  # strategic merge: lists merged by these keys (k8s.io/api patchMergeKey)
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}
USER = "system:serviceaccount:shipbot:shipbot"
_FAILED_READ = {  # the API server's words (k8s.io/apimachinery/pkg/api/errors)
    500: 'an error on the server ("") has prevented the request from succeeding',
    503: "the server is currently unable to handle the request",
}


class _Refused(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


@dataclass
class _Rollout:
    """The controller's progress on one Deployment's newest template (maxSurge 1)."""

    replicaset: str
    old: int  # pods of older ReplicaSets still running
    new: int = 0  # pods of the new ReplicaSet
    ready: int = 0  # of which available
    broken: bool = False
    stuck: bool = False  # ProgressDeadlineExceeded


class FakeKubernetes:
    """``with FakeKubernetes(token="t") as kube:``; ``kube.url`` is the API server to use."""

    def __init__(
        self,
        token: str | None = None,
        progress: Progression = "manual",
        step_seconds: float = 0.05,
    ) -> None:
        self.token = token  # when set, requests need "Authorization: Bearer <token>"
        self.progress: Progression = progress
        self.step_seconds = step_seconds
        self.broken_images: set[str] = set()
        self.forbidden: set[str] = set()  # verbs ("get", "list", "patch") answered 403
        self.stalled = False  # while True, requests hang (the test releases them)
        self.in_flight = 0
        self._failing_reads: tuple[int, int] = (0, 503)  # (reads left to fail, their code)
        self.requests: list[tuple[str, str, str]] = []  # (method, path?query, content type)
        self._lock = threading.RLock()
        self._versions = itertools.count(1)
        self._deployments: dict[Key, Obj] = {}
        self._replicasets: dict[Key, Obj] = {}
        self._rollouts: dict[Key, _Rollout] = {}
        self._history: dict[Key, list[dict[str, str]]] = {}
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._server = BackgroundServer(Starlette(routes=self._routes()))

    def __enter__(self) -> FakeKubernetes:
        self._server.start()
        self._ticker.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stalled = False
        self._stop.set()
        self._ticker.join(timeout=5)
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url

    # -- the test's side ------------------------------------------------------------------

    def reset(self) -> None:
        """No objects, requests or knobs set: as just started."""
        with self._lock:
            for table in (self._deployments, self._replicasets, self._rollouts, self._history):
                table.clear()
            self.requests.clear()
            self.broken_images.clear()
            self.forbidden.clear()
            self._failing_reads = (0, 503)

    def add_deployment(
        self, namespace: str, name: str, containers: Mapping[str, str], replicas: int = 1
    ) -> None:
        """A Deployment already rolled out at revision 1 (``containers``: name → image)."""
        labels = {"app": name}
        template = {
            "metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": c, "image": i} for c, i in containers.items()]},
        }
        with self._lock:
            self._deployments[(namespace, name)] = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {**self._meta(namespace, name), "generation": 1, "labels": labels},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": template,
                    "strategy": {"type": "RollingUpdate"},
                    "progressDeadlineSeconds": 600,
                },
                "status": {},
            }
            self._history[(namespace, name)] = [_images(template)]
            self.settle(namespace, name)

    def fail_reads(self, times: int, code: int = 503) -> None:
        """The next ``times`` GETs of any Deployment are answered ``code`` (a v1 Status; 503
        ServiceUnavailable by default), as while the API server restarts."""
        with self._lock:
            self._failing_reads = (times, code)

    def edit(self, namespace: str, name: str, patch: Obj) -> None:
        """A person's ``kubectl patch`` (strategic merge), as if through the API."""
        with self._lock:
            self._patch((namespace, name), "application/strategic-merge-patch+json", patch)

    def controller_step(self, namespace: str | None = None, name: str | None = None) -> bool:
        """One step of the deployment controller on one or all Deployments; False if idle."""
        with self._lock:
            keys = [(namespace, name)] if namespace and name else list(self._deployments)
            return any([self._step(key) for key in keys])

    def settle(self, namespace: str | None = None, name: str | None = None) -> None:
        """Step until the controller has nothing left to do (a broken rollout ends stuck)."""
        while self.controller_step(namespace, name):
            pass

    def deployment(self, namespace: str, name: str) -> Obj:
        with self._lock:
            return copy.deepcopy(self._deployments[(namespace, name)])

    def replicasets(self, namespace: str, name: str) -> list[Obj]:
        """The Deployment's ReplicaSets, oldest revision first."""
        with self._lock:
            return copy.deepcopy(self._owned((namespace, name)))

    def images(self, namespace: str, name: str) -> dict[str, str]:
        """The Deployment's pod template now: container name → image."""
        return _images(self.deployment(namespace, name)["spec"]["template"])

    def history(self, namespace: str, name: str) -> list[dict[str, str]]:
        """Every pod template the Deployment has had, in order, as container name → image."""
        with self._lock:
            return copy.deepcopy(self._history[(namespace, name)])

    def rolled_out(self, namespace: str, name: str) -> bool:
        """Whether the controller has finished rolling out the current template."""
        with self._lock:
            rollout = self._rollouts.get((namespace, name))
            deployment = self._deployments[(namespace, name)]
            observed = deployment["status"].get("observedGeneration")
            return observed == deployment["metadata"]["generation"] and _complete(
                rollout, deployment["spec"]["replicas"]
            )

    # -- the API server -------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            Route(APPS + "/deployments/{name}", self._answer, methods=["GET", "PATCH"]),
            Route(APPS + "/replicasets", self._answer, methods=["GET"]),
            Route("/{path:path}", self._answer, methods=["GET", "PATCH", "POST", "PUT"]),
        ]

    async def _answer(self, request: Request) -> Response:
        self.requests.append((request.method, _target(request), _content_type(request)))
        self.in_flight += 1
        try:
            while self.stalled:
                await asyncio.sleep(0.01)
            body = await request.body()
            with self._lock:
                return JSONResponse(self._serve(request, body))
        except _Refused as refused:
            return JSONResponse(_status(refused), status_code=refused.code)
        except ClientDisconnect:  # the client gave up (a cancelled deploy): nobody to answer
            return Response(status_code=499)
        finally:
            self.in_flight -= 1

    def _serve(self, request: Request, body: bytes) -> Obj:
        params, verb = request.path_params, _verb(request)
        kind = "deployments" if "name" in params else "replicasets"
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            raise _Refused(401, "Unauthorized", "Unauthorized")
        if "path" in params:
            raise _Refused(404, "NotFound", "the server could not find the requested resource")
        if verb in self.forbidden:
            raise _Refused(403, "Forbidden", _forbidden(verb, kind, params))
        if verb == "get" and self._failing_reads[0] > 0:
            left, code = self._failing_reads
            self._failing_reads = (left - 1, code)
            reason = http.HTTPStatus(code).phrase.replace(" ", "")
            raise _Refused(code, reason, _FAILED_READ.get(code, reason))
        if kind == "replicasets":
            return self._list(params["namespace"], request.query_params.get("labelSelector", ""))
        key = (params["namespace"], params["name"])
        if verb == "patch":
            return self._patch(key, _content_type(request), _json(body))
        answer = copy.deepcopy(self._found(key))
        if self.progress == "on_read":
            self._step(key)
        return answer

    def _list(self, namespace: str, selector: str) -> Obj:
        items = [
            copy.deepcopy(rs)
            for (ns, _), rs in sorted(self._replicasets.items())
            if ns == namespace and _selects(selector, rs["metadata"].get("labels") or {})
        ]
        meta = {"resourceVersion": str(next(self._versions))}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": meta, "items": items}

    def _patch(self, key: Key, content_type: str, patch: Any) -> Obj:
        current = self._found(key)
        apply = PATCHES.get(content_type)
        if apply is None:
            raise _Refused(415, "UnsupportedMediaType", f"{content_type} is not supported")
        try:
            patched = apply(copy.deepcopy(current), patch)
            meta, old = patched["metadata"], current["metadata"]
        except (TypeError, KeyError, AttributeError) as exc:
            raise _Refused(422, "Invalid", f"malformed {content_type} body") from exc
        meta, old = patched["metadata"], current["metadata"]
        if meta.get("resourceVersion") != old["resourceVersion"]:
            raise _Refused(409, "Conflict", _conflict(key))
        if any(not c.get("name") or not c.get("image") for c in _containers(patched)):
            raise _Refused(422, "Invalid", "spec.template.spec.containers: name and image required")
        for field in ("name", "namespace", "uid", "generation"):
            meta[field] = old[field]
        patched["status"] = current["status"]
        if patched["spec"] != current["spec"]:
            meta["generation"] += 1
        if patched["spec"]["template"] != current["spec"]["template"]:
            self._history[key].append(_images(patched["spec"]["template"]))
        if patched != current:
            meta["resourceVersion"] = str(next(self._versions))
        self._deployments[key] = patched
        return copy.deepcopy(patched)

    def _found(self, key: Key) -> Obj:
        if key not in self._deployments:
            message = f'deployments.apps "{key[1]}" not found'
            raise _Refused(404, "NotFound", message)
        return self._deployments[key]

    # -- the deployment controller --------------------------------------------------------

    def _tick(self) -> None:
        while not self._stop.wait(self.step_seconds):
            if self.progress == "auto":
                self.controller_step()

    def _step(self, key: Key) -> bool:
        deployment = self._deployments[key]
        spec, status, rollout = deployment["spec"], deployment["status"], self._rollouts.get(key)
        generation = deployment["metadata"]["generation"]
        if spec.get("paused"):  # a paused Deployment's changes wait for the resume
            changed = status.get("observedGeneration") != generation
            status["observedGeneration"] = generation
            return changed
        if rollout is None or _template(spec) != _template(self._rs(key, rollout)["spec"]):
            self._start(key, rollout)
        elif status.get("observedGeneration") != generation:
            status["observedGeneration"] = generation
        elif not _advance(rollout, spec["replicas"]):
            return False
        self._write_status(key)
        return True

    def _start(self, key: Key, previous: _Rollout | None) -> None:
        """A new template: find (an undo) or create its ReplicaSet, at revision max + 1."""
        deployment, owned = self._deployments[key], self._owned(key)
        template = _template(deployment["spec"])
        replicaset = next((rs for rs in owned if _template(rs["spec"]) == template), None)
        older = [_revision(rs) for rs in owned if rs is not replicaset]
        revision = str(max(older, default=0) + 1)
        if replicaset is None:
            replicaset = self._create_replicaset(deployment, template)
        if _revision(replicaset) < int(revision):
            replicaset["metadata"]["annotations"][REVISION] = revision
        deployment["metadata"].setdefault("annotations", {})[REVISION] = revision
        broken = bool(self.broken_images & set(_images(template).values()))
        old = previous.new + previous.old if previous else 0
        self._rollouts[key] = _Rollout(replicaset["metadata"]["name"], old, broken=broken)
        deployment["status"]["observedGeneration"] = deployment["metadata"]["generation"]

    def _create_replicaset(self, deployment: Obj, template: Obj) -> Obj:
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        hashed = copy.deepcopy(template)
        hashed.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
        selector = {**deployment["spec"]["selector"]["matchLabels"], HASH_LABEL: digest}
        annotations = dict(deployment["metadata"].get("annotations") or {})
        annotations.pop(REVISION, None)  # the controller copies the others
        owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "controller": True}
        replicaset: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                **self._meta(namespace, f"{name}-{digest}"),
                "labels": dict(hashed["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [{**owner, "uid": deployment["metadata"]["uid"]}],
            },
            "spec": {"replicas": 0, "selector": {"matchLabels": selector}, "template": hashed},
            "status": {"replicas": 0},
        }
        self._replicasets[(namespace, replicaset["metadata"]["name"])] = replicaset
        return replicaset

    def _write_status(self, key: Key) -> None:
        deployment, rollout = self._deployments[key], self._rollouts[key]
        status = deployment["status"]
        for rs in self._owned(key):
            mine = rs["metadata"]["name"] == rollout.replicaset
            rs["spec"]["replicas"] = rollout.new if mine else 0
            rs["status"] = {"replicas": rollout.new} if mine else {"replicas": 0}
        available = rollout.ready + rollout.old
        counts = {
            "replicas": rollout.new + rollout.old,
            "updatedReplicas": rollout.new,
            "readyReplicas": available,
            "availableReplicas": available,
            "unavailableReplicas": max(0, deployment["spec"]["replicas"] - available),
        }
        for field, count in counts.items():
            status.pop(field, None)
            if count:  # the API server omits zero counts
                status[field] = count
        status["conditions"] = [_progressing(rollout, deployment["spec"]["replicas"])]
        deployment["metadata"]["resourceVersion"] = str(next(self._versions))

    def _rs(self, key: Key, rollout: _Rollout) -> Obj:
        return self._replicasets[(key[0], rollout.replicaset)]

    def _owned(self, key: Key) -> list[Obj]:
        uid = self._deployments[key]["metadata"]["uid"]
        owned = [
            rs
            for (ns, _), rs in self._replicasets.items()
            if ns == key[0] and rs["metadata"]["ownerReferences"][0]["uid"] == uid
        ]
        return sorted(owned, key=_revision)

    def _meta(self, namespace: str, name: str) -> Obj:
        return {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": str(next(self._versions)),
            "creationTimestamp": "2024-01-01T00:00:00Z",
        }


def _advance(rollout: _Rollout, desired: int) -> bool:
    """One controller step of a rolling update; False when there is nothing left to do."""
    if rollout.stuck:
        return False
    if rollout.broken and rollout.new > 0:
        rollout.stuck = True  # its pods never become available; the deadline passes
    elif rollout.old > 0 and rollout.new + rollout.old > desired:
        rollout.old -= 1
    elif rollout.new < desired:
        rollout.new += 1
    elif rollout.new > desired:
        rollout.new, rollout.ready = desired, min(rollout.ready, desired)
    elif rollout.ready < rollout.new and not rollout.broken:
        rollout.ready += 1
    elif rollout.old > 0:
        rollout.old -= 1
    else:
        return False
    return True


def _complete(rollout: _Rollout | None, desired: int) -> bool:
    return rollout is not None and (rollout.new, rollout.ready, rollout.old) == (
        desired,
        desired,
        0,
    )


def _progressing(rollout: _Rollout, desired: int) -> Obj:
    if rollout.stuck:
        reason, state = "ProgressDeadlineExceeded", "has timed out progressing"
    elif _complete(rollout, desired):
        reason, state = "NewReplicaSetAvailable", "has successfully progressed"
    else:
        reason, state = "ReplicaSetUpdated", "is progressing"
    return {
        "type": "Progressing",
        "status": "False" if rollout.stuck else "True",
        "reason": reason,
        "message": f'ReplicaSet "{rollout.replicaset}" {state}.',
    }


def _template(spec: Obj) -> Obj:
    """A pod template without its pod-template-hash label, for comparing."""
    template = copy.deepcopy(spec["template"])
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return template


def _images(template: Obj) -> dict[str, str]:
    return {c["name"]: c["image"] for c in template["spec"]["containers"]}


def _containers(deployment: Obj) -> list[Obj]:
    return list(deployment["spec"]["template"]["spec"].get("containers") or [])


def _revision(obj: Obj) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, 0))


def _selects(selector: str, labels: Mapping[str, str]) -> bool:
    """Equality-based label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``."""
    for term in filter(None, (part.strip() for part in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            ok = labels.get(key.strip()) != value.strip()
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            ok = labels.get(key.strip()) == value.strip()
        else:
            ok = (term[1:].strip() not in labels) if term.startswith("!") else term in labels
        if not ok:
            return False
    return True


# -- patches ------------------------------------------------------------------------------


def _strategic(target: Any, patch: Any) -> Any:
    """Strategic merge patch: a JSON merge patch, but lists in MERGE_KEYS merge by their key."""
    if not (isinstance(target, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    merged = dict(target)
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # directives ($setElementOrder, $retainKeys) are not emulated
        if value is None:
            merged.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = _merge_list(merged[key], value, MERGE_KEYS[key])
        else:
            merged[key] = _strategic(merged.get(key), value)
    return merged


def _merge_list(items: list[Any], patch: list[Any], key: str) -> list[Any]:
    merged = list(items)
    for item in patch:
        at = next((i for i, old in enumerate(merged) if old.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            merged = [old for old in merged if old.get(key) != item.get(key)]
        elif at is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[at] = _strategic(merged[at], item)
    return merged


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not (isinstance(target, dict) and isinstance(patch, dict)):
        return copy.deepcopy(patch)
    merged = dict(target)
    for key, value in patch.items():
        merged.pop(key, None)
        if value is not None:
            merged[key] = _merge(target.get(key), value)
    return merged


def _json_patch(target: Obj, operations: list[Obj]) -> Obj:
    """RFC 6902 JSON patch: add, remove, replace and test."""
    for operation in operations:
        op, path = operation["op"], operation["path"]
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        try:
            node = target
            for part in parents:
                node = node[_index(node, part)]
            if op == "test" and node[_index(node, last)] != operation["value"]:
                raise _Refused(422, "Invalid", f"test failed at {path}")
            if op in ("remove", "replace"):
                del node[_index(node, last)]
            if op in ("add", "replace") and isinstance(node, list):
                node.insert(len(node) if last == "-" else int(last), operation["value"])
            elif op in ("add", "replace"):
                node[last] = operation["value"]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise _Refused(422, "Invalid", f"cannot {op} at {path}") from exc
    return target


def _index(node: Any, part: str) -> Any:
    return int(part) if isinstance(node, list) else part


PATCHES: dict[str, Callable[[Obj, Any], Obj]] = {
    "application/strategic-merge-patch+json": _strategic,
    "application/merge-patch+json": _merge,
    "application/json-patch+json": _json_patch,
}


# -- HTTP details -------------------------------------------------------------------------


def _status(refused: _Refused) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": refused.message,
        "reason": refused.reason,
        "code": refused.code,
    }


def _verb(request: Request) -> str:
    if request.method == "PATCH":
        return "patch"
    return "get" if "name" in request.path_params else "list"


def _forbidden(verb: str, kind: str, params: Mapping[str, str]) -> str:
    what = f'{kind}.apps "{params["name"]}"' if "name" in params else f"{kind}.apps"
    return (
        f'{what} is forbidden: User "{USER}" cannot {verb} resource "{kind}"'
        f' in API group "apps" in the namespace "{params["namespace"]}"'
    )


def _conflict(key: Key) -> str:
    return (
        f'Operation cannot be fulfilled on deployments.apps "{key[1]}": the object has been'
        " modified; please apply your changes to the latest version and try again"
    )


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip()


def _target(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise _Refused(400, "BadRequest", "the request body is not JSON") from exc
