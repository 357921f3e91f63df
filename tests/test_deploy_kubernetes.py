"""deploy/kubernetes: the Kustomize base, the Socket Mode overlay and the Redis for trying,
rendered by `kubectl kustomize`, valid against the Kubernetes API's schemas, and holding the
properties the README promises."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.app.cli_commands import SECRETS
from bot.app.worker import STOP_GRACE_SECONDS
from bot.catalog.model import check_catalog

ROOT = Path(__file__).parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE, SOCKET, REDIS = "base", "overlays/socket-mode", "redis-for-trying"
SHIPBOT = (BASE, SOCKET)
KUBE_VERSION = "1.30.0"  # the oldest Kubernetes these manifests are checked against
KUBECTL = shutil.which("kubectl")
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|REDIS_URL|REDIS_SENTINEL")
TOKEN_LIKE = re.compile(r"xox[abp]-|xapp-|glpat-|://[^/@\s]*:[^/@\s]*@")

pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not on PATH; it renders the Kustomize manifests"
)

Obj = dict[str, Any]


@functools.cache
def rendered(directory: str) -> tuple[Obj, ...]:
    """The objects `kubectl kustomize` makes of ``deploy/kubernetes/<directory>``."""
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(KUBERNETES / directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return tuple(o for o in yaml.safe_load_all(out) if o)


def one(directory: str, kind: str, name: str) -> Obj:
    (found,) = [
        o for o in rendered(directory) if (o["kind"], o["metadata"]["name"]) == (kind, name)
    ]
    return found


def pod(directory: str, name: str) -> Obj:
    """The pod template's spec of a Deployment or StatefulSet."""
    workload = [
        o
        for o in rendered(directory)
        if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == name
    ]
    return dict(workload[0]["spec"]["template"]["spec"])


def container(directory: str, name: str) -> Obj:
    (only,) = pod(directory, name)["containers"]
    return dict(only)


def env(directory: str, name: str) -> dict[str, Obj]:
    return {e["name"]: e for e in container(directory, name)["env"]}


def workloads(directory: str) -> list[Obj]:
    return [o for o in rendered(directory) if o["kind"] in ("Deployment", "StatefulSet")]


def every_container() -> list[tuple[str, Obj, Obj]]:
    """(directory, pod spec, container) for each container of every rendered workload."""
    return [
        (directory, w["spec"]["template"]["spec"], c)
        for directory in (BASE, SOCKET, REDIS)
        for w in workloads(directory)
        for c in w["spec"]["template"]["spec"]["containers"]
    ]


@pytest.mark.parametrize("directory", [BASE, SOCKET, REDIS])
def test_every_object_is_valid_against_the_kubernetes_schemas(directory: str) -> None:
    """Each rendered object validates (strictly: no unknown field) against the schemas of
    Kubernetes 1.30."""
    errors = []
    for obj in rendered(directory):
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
    assert [] == errors


def test_the_base_holds_bot_worker_service_catalog_and_budgets() -> None:
    """The base renders the two Deployments, the bot's Service, the worker's ServiceAccount,
    the catalog's ConfigMap and a PodDisruptionBudget for each Deployment, and no Secret."""
    kinds = sorted(
        (o["kind"], re.sub(r"-[a-z0-9]{10}$", "", o["metadata"]["name"])) for o in rendered(BASE)
    )
    assert [
        ("ConfigMap", "shipbot-catalog"),
        ("Deployment", "shipbot-bot"),
        ("Deployment", "shipbot-worker"),
        ("PodDisruptionBudget", "shipbot-bot"),
        ("PodDisruptionBudget", "shipbot-worker"),
        ("Service", "shipbot"),
        ("ServiceAccount", "shipbot-worker"),
    ] == kinds


@pytest.mark.parametrize("directory", SHIPBOT)
def test_bot_and_worker_run_two_replicas_each(directory: str) -> None:
    """The bot and the worker Deployments each ask for 2 replicas."""
    replicas = [
        one(directory, "Deployment", n)["spec"]["replicas"]
        for n in ("shipbot-bot", "shipbot-worker")
    ]
    assert [2, 2] == replicas


def test_the_base_bot_runs_serve_and_the_worker_runs_worker() -> None:
    """The base's bot runs `shipbot serve`, its worker `shipbot worker`."""
    commands = [
        container(BASE, n)["command"] + container(BASE, n)["args"]
        for n in ("shipbot-bot", "shipbot-worker")
    ]
    assert [["shipbot", "serve"], ["shipbot", "worker"]] == commands


def test_the_socket_mode_bot_runs_socket() -> None:
    """The Socket Mode overlay's bot runs `shipbot socket`; its worker is the base's."""
    commands = [
        container(SOCKET, n)["command"] + container(SOCKET, n)["args"]
        for n in ("shipbot-bot", "shipbot-worker")
    ]
    assert [["shipbot", "socket"], ["shipbot", "worker"]] == commands


@pytest.mark.parametrize("directory", SHIPBOT)
def test_bot_and_worker_run_the_same_image(directory: str) -> None:
    """Both Deployments run one image."""
    images = {container(directory, n)["image"] for n in ("shipbot-bot", "shipbot-worker")}
    assert 1 == len(images)


def test_the_service_sends_port_3000_to_the_bots() -> None:
    """The Service selects the bot's pods (not the worker's) and sends port 3000 to the
    container port named http, which is 3000."""
    service = one(BASE, "Service", "shipbot")["spec"]
    labels = {
        n: one(BASE, "Deployment", n)["spec"]["template"]["metadata"]["labels"]
        for n in ("shipbot-bot", "shipbot-worker")
    }
    selects = {n: service["selector"].items() <= labels[n].items() for n in labels}
    ports = {p["name"]: p["containerPort"] for p in container(BASE, "shipbot-bot")["ports"]}
    (port,) = service["ports"]
    assert ({"shipbot-bot": True, "shipbot-worker": False}, 3000, 3000) == (
        selects,
        port["port"],
        ports[port["targetPort"]],
    )


def test_the_bot_probes_ask_livez_on_its_port() -> None:
    """The bot's startup, readiness and liveness probes all GET /livez on port http: none
    depends on Redis (/healthz) or on a worker (/readyz), so a Redis outage neither takes the
    bots out of the Service nor restarts them."""
    bot = container(BASE, "shipbot-bot")
    probes = {p: bot[p]["httpGet"] for p in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert {p: {"path": "/livez", "port": "http"} for p in probes} == probes


def test_the_bot_liveness_tolerates_two_minutes_of_failures() -> None:
    """A bot busy for a while is not restarted: liveness fails only after 2 minutes without
    an answer."""
    probe = container(BASE, "shipbot-bot")["livenessProbe"]
    assert 120 <= probe["periodSeconds"] * probe["failureThreshold"]


def test_the_worker_liveness_probe_is_shipbot_worker_alive() -> None:
    """The worker's liveness probe runs `shipbot worker --alive`."""
    probe = container(BASE, "shipbot-worker")["livenessProbe"]
    assert ["shipbot", "worker", "--alive"] == probe["exec"]["command"]


def test_the_socket_mode_bot_has_no_http_port_or_probe() -> None:
    """`shipbot socket` serves no HTTP: the overlay's bot has no port, no startup or readiness
    probe, and its liveness probe is no HTTP one."""
    bot = container(SOCKET, "shipbot-bot")
    present = [k for k in ("ports", "startupProbe", "readinessProbe") if k in bot]
    assert ([], False) == (present, "httpGet" in bot["livenessProbe"])


def test_the_socket_mode_bot_liveness_probe_is_shipbot_socket_alive() -> None:
    """The overlay's bot has the worker's kind of liveness probe: `shipbot socket --alive`,
    with the worker's timing."""
    probe = container(SOCKET, "shipbot-bot")["livenessProbe"]
    worker = container(SOCKET, "shipbot-worker")["livenessProbe"]
    timing = {k: v for k, v in probe.items() if k != "exec"}
    assert (["shipbot", "socket", "--alive"], {k: v for k, v in worker.items() if k != "exec"}) == (
        probe["exec"]["command"],
        timing,
    )


def test_the_socket_mode_bot_liveness_file_is_on_an_empty_dir() -> None:
    """The socket-mode bot's SHIPBOT_ALIVE_FILE is under its /tmp emptyDir, and is not the
    path a worker uses."""
    path = PurePosixPath(env(SOCKET, "shipbot-bot")["SHIPBOT_ALIVE_FILE"]["value"])
    worker = env(SOCKET, "shipbot-worker")["SHIPBOT_ALIVE_FILE"]["value"]
    assert (True, False) == (path.is_relative_to("/tmp"), str(path) == worker)  # noqa: S108


def test_the_socket_mode_overlay_has_no_service() -> None:
    """Nothing connects to a Socket Mode bot: the overlay renders no Service."""
    assert [] == [o for o in rendered(SOCKET) if o["kind"] == "Service"]


def test_the_socket_mode_bot_reads_the_app_token_from_the_secret() -> None:
    """The overlay's bot gets SLACK_APP_TOKEN from the Secret shipbot, and no signing secret."""
    variables = env(SOCKET, "shipbot-bot")
    assert (
        {"secretKeyRef": {"name": "shipbot", "key": "SLACK_APP_TOKEN"}},
        False,
    ) == (variables["SLACK_APP_TOKEN"]["valueFrom"], "SLACK_SIGNING_SECRET" in variables)


def test_the_worker_grace_period_outlasts_its_stop_grace() -> None:
    """The worker pod's terminationGracePeriodSeconds is longer than the time a stopping
    worker gives running deploys (STOP_GRACE_SECONDS), so they can end cleanly."""
    grace = pod(BASE, "shipbot-worker")["terminationGracePeriodSeconds"]
    assert grace > STOP_GRACE_SECONDS


@pytest.mark.parametrize("directory", SHIPBOT)
def test_shipbot_runs_as_user_10001_not_root(directory: str) -> None:
    """shipbot's pods and containers say runAsNonRoot, as user and group 10001."""
    contexts = [
        (pod(directory, n)["securityContext"], container(directory, n)["securityContext"])
        for n in ("shipbot-bot", "shipbot-worker")
    ]
    wanted = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001}
    assert [(True, True)] * 2 == [
        (wanted.items() <= p.items(), wanted.items() <= c.items()) for p, c in contexts
    ]


def test_every_container_has_a_read_only_root_filesystem() -> None:
    """Each container (shipbot's and the trial Redis) has readOnlyRootFilesystem: true."""
    assert [] == [
        c["name"]
        for _, _, c in every_container()
        if c["securityContext"].get("readOnlyRootFilesystem") is not True
    ]


def test_no_container_can_escalate_privileges() -> None:
    """Each container has allowPrivilegeEscalation: false."""
    assert [] == [
        c["name"]
        for _, _, c in every_container()
        if c["securityContext"].get("allowPrivilegeEscalation") is not False
    ]


def test_every_container_drops_all_capabilities() -> None:
    """Each container drops ALL Linux capabilities."""
    assert [] == [
        c["name"]
        for _, _, c in every_container()
        if c["securityContext"].get("capabilities") != {"drop": ["ALL"]}
    ]


def test_every_container_has_cpu_and_memory_requests_and_limits() -> None:
    """Each container requests and limits both cpu and memory."""
    missing = [
        (c["name"], kind, what)
        for _, _, c in every_container()
        for kind in ("requests", "limits")
        for what in ("cpu", "memory")
        if what not in c.get("resources", {}).get(kind, {})
    ]
    assert [] == missing


@pytest.mark.parametrize("name", ["shipbot-bot", "shipbot-worker"])
def test_each_disruption_budget_keeps_one_of_its_own_pods(name: str) -> None:
    """The PodDisruptionBudget of each Deployment has minAvailable 1 and selects that
    Deployment's pods and no other's."""
    budget = one(BASE, "PodDisruptionBudget", name)["spec"]
    selected = [
        w["metadata"]["name"]
        for w in workloads(BASE)
        if budget["selector"]["matchLabels"].items()
        <= w["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert (1, [name]) == (budget["minAvailable"], selected)


@pytest.mark.parametrize("directory", SHIPBOT)
def test_no_environment_variable_holds_a_secret(directory: str) -> None:
    """Every variable that carries a secret (the tokens, the signing secret, the Redis URL
    with its password) is a secretKeyRef into the Secret shipbot; no literal value looks like a
    token or a URL with a password; and nothing renders a Secret."""
    variables = [
        e for n in ("shipbot-bot", "shipbot-worker") for e in container(directory, n)["env"]
    ]
    secret_named = [e for e in variables if e["name"] in SECRETS or SECRET_NAME.search(e["name"])]
    literal = [
        e["name"]
        for e in secret_named
        if "value" in e or e["valueFrom"]["secretKeyRef"]["name"] != "shipbot"
    ]
    token_like = [e["name"] for e in variables if TOKEN_LIKE.search(str(e.get("value", "")))]
    secrets = [o for o in rendered(directory) if o["kind"] == "Secret"]
    assert ([], [], []) == (literal, token_like, secrets)


def test_shipbot_takes_its_environment_from_no_whole_secret() -> None:
    """No container imports a whole Secret or ConfigMap as variables (envFrom): each gets only
    the keys it names."""
    assert [] == [c["name"] for _, _, c in every_container() if "envFrom" in c]


@pytest.mark.parametrize("name", ["shipbot-bot", "shipbot-worker"])
def test_the_catalog_is_mounted_where_shipbot_catalog_points(name: str) -> None:
    """SHIPBOT_CATALOG names catalog.yaml in the mounted ConfigMap that kustomize generated
    from the base's catalog file."""
    spec, bot = pod(BASE, name), container(BASE, name)
    path = PurePosixPath(env(BASE, name)["SHIPBOT_CATALOG"]["value"])
    (mount,) = [m for m in bot["volumeMounts"] if PurePosixPath(m["mountPath"]) == path.parent]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    config_map = one(BASE, "ConfigMap", volume["configMap"]["name"])
    expected = (ROOT / "deploy" / "kubernetes" / "base" / "catalog.yaml").read_text()
    assert expected == config_map["data"][path.name]


def test_the_base_catalog_is_valid() -> None:
    """The catalog in the base passes `shipbot check`."""
    assert [] == check_catalog(str(KUBERNETES / "base" / "catalog.yaml"))


def test_everything_the_worker_writes_is_on_an_empty_dir() -> None:
    """TMPDIR, HOME, Ansible's home and local temp, matplotlib's cache and the liveness file
    are under the worker's emptyDir mounts (its root filesystem is read-only)."""
    spec, worker = pod(BASE, "shipbot-worker"), container(BASE, "shipbot-worker")
    scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    writable = [
        PurePosixPath(m["mountPath"]) for m in worker["volumeMounts"] if m["name"] in scratch
    ]
    variables = env(BASE, "shipbot-worker")
    names = (
        "TMPDIR",
        "HOME",
        "ANSIBLE_HOME",
        "ANSIBLE_LOCAL_TEMP",
        "MPLCONFIGDIR",
        "SHIPBOT_ALIVE_FILE",
    )
    outside = [
        n
        for n in names
        if not any(PurePosixPath(variables[n]["value"]).is_relative_to(w) for w in writable)
    ]
    assert [] == outside


def test_the_bot_writes_temporary_files_on_an_empty_dir() -> None:
    """The bot's /tmp is an emptyDir (its root filesystem is read-only)."""
    spec, bot = pod(BASE, "shipbot-bot"), container(BASE, "shipbot-bot")
    scratch = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    mounts = [m["mountPath"] for m in bot["volumeMounts"] if m["name"] in scratch]
    assert ["/tmp"] == mounts  # noqa: S108 (a path in the pod, not a file made here)


def test_the_trial_redis_keeps_an_append_only_file() -> None:
    """The Redis for trying runs with appendonly yes, on a persistent volume at /data."""
    redis = container(REDIS, "redis")
    args = redis["args"]
    claims = [
        c["metadata"]["name"]
        for c in one(REDIS, "StatefulSet", "redis")["spec"]["volumeClaimTemplates"]
    ]
    data = [m["name"] for m in redis["volumeMounts"] if m["mountPath"] == "/data"]
    assert ("yes", claims) == (args[args.index("--appendonly") + 1], data)


def test_the_trial_redis_says_it_is_not_for_production() -> None:
    """Every object of the Redis for trying carries an annotation saying it is not for
    production."""
    purposes = {o["metadata"]["annotations"].get("purpose", "") for o in rendered(REDIS)}
    assert [True] == ["not for production" in p for p in purposes]


REDIS_VARIABLES = (
    "REDIS_URL",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_DB",
)


@pytest.mark.parametrize("directory", SHIPBOT)
@pytest.mark.parametrize("name", ["shipbot-bot", "shipbot-worker"])
def test_redis_is_found_the_way_the_secret_says(directory: str, name: str) -> None:
    """Both Deployments read REDIS_URL and the Sentinel variables from the Secret shipbot,
    each optional: switching to Sentinel (or back) is a change of the Secret only."""
    variables = env(directory, name)
    refs = {n: variables[n]["valueFrom"]["secretKeyRef"] for n in REDIS_VARIABLES}
    assert {n: {"name": "shipbot", "key": n, "optional": True} for n in REDIS_VARIABLES} == refs


@pytest.mark.parametrize("directory", SHIPBOT)
def test_only_the_slack_secrets_are_required(directory: str) -> None:
    """Every secretKeyRef is optional except the Slack ones, without which nothing works: a
    Secret holding only what this installation uses is enough."""
    required = sorted(
        {
            e["name"]
            for n in ("shipbot-bot", "shipbot-worker")
            for e in container(directory, n)["env"]
            if "valueFrom" in e and not e["valueFrom"]["secretKeyRef"].get("optional", False)
        }
    )
    slack = {
        BASE: ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
        SOCKET: ["SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"],
    }
    assert slack[directory] == required
