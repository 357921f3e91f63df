"""Deployer options in the catalog: what each deployer needs to know, and how levels merge.

A service names its deployer and may give that deployer's options under a key of the same
name (``ansible:``, ``kubernetes:``, ``gitlab:``, ``argocd:``) at three levels: the service,
one of its environments, and one data centre of that environment. The nearest level wins, key
by key, so a service says what is common (the Deployment, the image) and a data centre says
what is its own (its kube context, its Argo CD Application, its timeout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _nonempty(value: str) -> str:
    if not value.strip():
        raise ValueError("may not be empty")
    return value


Text = Annotated[str, AfterValidator(_nonempty)]


class _Options(BaseModel):
    """Every field optional: any level may give any of them; `REQUIRED` must hold once merged."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    REQUIRED: ClassVar[tuple[str, ...]] = ()


class AnsibleOptions(_Options):
    """How long one run of the service's playbook may take. The playbook, its inventory and
    vars are the service's own keys (``playbook``, ``inventory``, ``vars``)."""

    timeout_seconds: int | None = Field(default=None, gt=0, strict=True)  # see DEFAULT_TIMEOUTS


class KubernetesOptions(_Options):
    """Set the image of named containers of a Deployment, then wait like `kubectl rollout status`.

    ``context`` picks a kubeconfig context ($KUBECONFIG or ~/.kube/config); ``api_url``
    (with ``token_file`` and ``ca_file``) talks to an API server directly; with neither, the
    in-cluster service account or the kubeconfig's current context is used."""

    deployment: Text | None = None
    containers: list[Text] | None = Field(default=None, min_length=1)
    image: Text | None = None  # repository without tag; the version becomes the tag
    namespace: Text | None = None  # default "default"
    context: Text | None = None
    api_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    token_file: Path | None = None
    ca_file: Path | None = None
    timeout_seconds: int | None = Field(default=None, gt=0, strict=True)  # see DEFAULT_TIMEOUTS
    REQUIRED: ClassVar[tuple[str, ...]] = ("deployment", "containers", "image")


class GitLabOptions(_Options):
    """Run a pipeline of ``project`` on the version (a tag or branch) and follow it to the end.

    ``variables`` are passed to the pipeline beside the ``SHIPBOT_*`` ones; ``play_job``
    names a manual job to start once the pipeline reaches it; ``environment`` is the GitLab
    environment name this target deploys to (default: the catalog's environment name)."""

    project: Text | None = None  # "group/name" or a numeric project ID
    variables: dict[str, str] | None = None
    play_job: Text | None = None
    environment: Text | None = None
    timeout_seconds: int | None = Field(default=None, gt=0, strict=True)  # see DEFAULT_TIMEOUTS
    REQUIRED: ClassVar[tuple[str, ...]] = ("project",)


class ArgoCDOptions(_Options):
    """Sync an Argo CD Application to the version and wait until it is Synced and Healthy.

    ``server`` is the Argo CD base URL (default $ARGOCD_URL)."""

    application: Text | None = None
    server: Annotated[str, Field(pattern=r"^https?://")] | None = None
    timeout_seconds: int | None = Field(default=None, gt=0, strict=True)  # see DEFAULT_TIMEOUTS
    REQUIRED: ClassVar[tuple[str, ...]] = ("application",)


class DeployerOptions(_Options):
    """The per-deployer option blocks one level may carry."""

    ansible: AnsibleOptions | None = None
    kubernetes: KubernetesOptions | None = None
    gitlab: GitLabOptions | None = None
    argocd: ArgoCDOptions | None = None


Deployer = Literal["ansible", "kubernetes", "gitlab", "argocd"]
DEPLOYERS: tuple[str, ...] = get_args(Deployer)
OPTION_KEYS = tuple(DeployerOptions.model_fields)  # the deployers that take an options block
# each deployer's timeout_seconds when no level gives one: the only place they are written
DEFAULT_TIMEOUTS = {"ansible": 3600, "kubernetes": 600, "gitlab": 3600, "argocd": 600}


def timeout_of(deployer: str, options: dict[str, Any]) -> int:
    """How long one run of ``deployer`` may take, in seconds: the merged ``options``' own
    timeout, else the deployer's default."""
    return int(options.get("timeout_seconds", DEFAULT_TIMEOUTS[deployer]))


def merged(deployer: str, *levels: object) -> dict[str, Any]:
    """The deployer's options with later levels (anything with option blocks as attributes:
    a service, an environment, a data centre's DeployerOptions, or None) overriding earlier
    ones, key by key; a mapping (gitlab's ``variables``) is merged key by key too."""
    result: dict[str, Any] = {}
    for level in levels:
        block = getattr(level, deployer, None) if level is not None else None
        for key, value in (block.model_dump(exclude_none=True) if block else {}).items():
            both_maps = isinstance(value, dict) and isinstance(result.get(key), dict)
            result[key] = {**result[key], **value} if both_maps else value
    return result


def required_options(deployer: str) -> tuple[str, ...]:
    """The options ``deployer`` needs once the levels are merged (none for ansible: its
    playbook is the service's own key)."""
    field = DeployerOptions.model_fields.get(deployer)
    kind = _block_type(field.annotation) if field else None
    required: tuple[str, ...] = getattr(kind, "REQUIRED", ())
    return required


def _block_type(annotation: Any) -> Any:
    """``X | None`` -> X."""
    return next(a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None))
