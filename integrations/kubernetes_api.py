"""One Deployment through the official Kubernetes client, from asyncio: each call in a worker
thread, and every failure a DeployError whose message names the cluster, never the token.

Upstream: the apps/v1 Deployment and ReplicaSet resources of the Kubernetes API
(https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/,
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/) through
kubernetes-client/python (https://github.com/kubernetes-client/python): read and patch a
Deployment, list ReplicaSets by label selector. Errors are the API server's v1 Status objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from bot.ports.deployer import DeployError, DeployUnreachable
from integrations.kubernetes_rollout import Obj, controllers
from integrations.urls import without_credentials

_REQUEST_TIMEOUT = (5.0, 30.0)  # connect, read: each API call is short, so cancelling is prompt
_MAX_REASON = 300


class Target(Protocol):
    """Which Deployment, in which cluster, with which credentials (a KubernetesDeployer)."""

    @property
    def deployment(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def context(self) -> str | None: ...
    @property
    def api_url(self) -> str | None: ...
    @property
    def token_file(self) -> Path | None: ...
    @property
    def ca_file(self) -> Path | None: ...


class DeploymentApi:
    """One run's client for one Deployment: calls in worker threads, failures as shipbot's.

    A 5xx or 429 answer is DeployUnreachable, like a failed connection: worth another try."""

    def __init__(self, target: Target, api_client: client.ApiClient, where: str):
        self._client, self.where = api_client, where
        self._apps = client.AppsV1Api(api_client)
        self._ref = (target.deployment, target.namespace)

    @classmethod
    async def connect(cls, target: Target) -> DeploymentApi:
        where = _cluster(target)
        try:
            api_client = await asyncio.to_thread(_api_client, target)
        except (ConfigException, OSError, yaml.YAMLError) as exc:
            message = f"cannot use the Kubernetes config of {where}: {_trim(exc)}"
            raise DeployUnreachable(message) from exc
        host = without_credentials(api_client.configuration.host)
        same = where.rstrip("/") == host
        return cls(target, api_client, where if same else f"{where} ({host})")

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
        return [rs for rs in found["items"] if uid in controllers(rs)]

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
        answered = f"the Kubernetes API at {self.where} answered {status}: {message}"
        busy = status >= 500 or status == 429  # worth another look, like a lost connection
        return DeployUnreachable(answered) if busy else DeployError(answered)


def _cluster(target: Target) -> str:
    """How a person would name the cluster this deployer talks to."""
    if target.api_url:
        return without_credentials(target.api_url)
    if target.context:
        return f"kube context {target.context!r}"
    return "the in-cluster service account or the kubeconfig's current context"


def _api_client(target: Target) -> client.ApiClient:
    """Worker thread: a fresh ApiClient; the client's global default config is never touched."""
    if target.api_url:
        settings = client.Configuration(host=target.api_url.rstrip("/"))
        if target.token_file:
            token = target.token_file.read_text(encoding="utf-8").strip()
            if not token:
                raise ConfigException(f"token_file {target.token_file} is empty")
            settings.api_key = {"authorization": token}
            settings.api_key_prefix = {"authorization": "Bearer"}
        if target.ca_file:
            if not target.ca_file.is_file():
                raise ConfigException(f"ca_file {target.ca_file} not found")
            settings.ssl_ca_cert = str(target.ca_file)
        return client.ApiClient(settings)
    if target.context:
        return config.new_client_from_config(context=target.context)
    settings = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=settings)
    except ConfigException:
        config.load_kube_config(client_configuration=settings)
    return client.ApiClient(settings)


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
    """``value`` on one line, cut to a length fit for a chat message."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"
