"""The catalog: which services shipbot deploys, how, where, and who must approve.

Loaded once at start by `load_catalog`, which validates the YAML with pydantic and turns
every problem into a `CatalogIssue` carrying the YAML line and column it came from. Every
problem is found in one pass: keys (bot.catalog.keys), values (pydantic, below) and the
rules that relate them (bot.catalog.checks) are checked side by side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.catalog.checks import checked, environment_problems, service_problems
from bot.catalog.common import (
    ApproverId,
    ChannelId,
    CronLine,
    DigestPeriod,
    Name,
    TimeZone,
)
from bot.catalog.governance import ApprovalRule, AuditSettings, Emergency, Freeze
from bot.catalog.issues import CatalogIssue, at, issue
from bot.catalog.keys import spelled
from bot.catalog.options import (
    AnsibleOptions,
    ArgoCDOptions,
    Deployer,
    DeployerOptions,
    GitLabOptions,
    KubernetesOptions,
    merged,
)
from bot.catalog.parsing import duplicate_keys, not_a_mapping, yaml_issue

BASE_DIR = "base_dir"  # validation context key: the directory relative paths start from

PRODUCTION_NAMES = ("prod", "production")  # production when no environment is marked


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthCheck(_Model):
    """An HTTP URL that must answer 2xx, ``successes`` times in a row, after each data centre.

    ``{datacenter}`` in the URL is replaced by the data centre's name."""

    url: str = Field(pattern=r"^https?://")
    timeout_seconds: float = Field(default=5, gt=0)
    successes: int = Field(default=3, ge=1, strict=True)
    interval_seconds: float = Field(default=1, ge=0)
    max_attempts: int = Field(default=10, ge=1, strict=True)

    def url_for(self, datacenter: str) -> str:
        return self.url.replace("{datacenter}", datacenter)


class Environment(_Model):
    """One environment of a service: its approval rule and the data centres it spans."""

    approvals: int = Field(default=0, ge=0, strict=True)
    approvers: list[ApproverId] = Field(default_factory=list, validate_default=True)
    datacenters: dict[Name, DeployerOptions] = Field(default_factory=dict)
    expire_after_minutes: int = Field(default=1440, gt=0, strict=True)
    rollback_approvals: int | None = Field(default=None, ge=0, strict=True)
    health_check: HealthCheck | None = None
    rollback_on_failure: bool = True
    production: bool | None = None  # counts in delivery metrics (unset: see Service.production)
    deployers: list[ApproverId] | None = (
        None  # who may request deploys and rollbacks (None: anyone)
    )
    approval_rules: list[ApprovalRule] = Field(default_factory=list)  # besides `approvals`
    emergency: Emergency | None = None  # break-glass (--emergency); None: the defaults
    freeze: Freeze | None = None  # when this environment must not change
    freezers: list[ApproverId] | None = None  # who may /shipbot freeze (None: its approvers)
    admins: list[ApproverId] = Field(default_factory=list)  # may break others' locks
    ansible: AnsibleOptions | None = None
    kubernetes: KubernetesOptions | None = None
    gitlab: GitLabOptions | None = None
    argocd: ArgoCDOptions | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Environment]) -> Environment:
        """Approvals that can be given, data centres listed once (see bot.catalog.checks)."""
        return checked(data, handler, environment_problems(data))

    @model_validator(mode="before")
    @classmethod
    def _empty_means_defaults(cls, data: Any) -> Any:
        return {} if data is None else data

    @field_validator("datacenters", mode="before")
    @classmethod
    def _names_or_options(cls, value: Any) -> Any:
        """``[dc-a, dc-b]`` or ``{dc-a: {kubernetes: {...}}, dc-b: ...}``; both keep order."""
        if isinstance(value, list) and all(isinstance(name, Hashable) for name in value):
            return {name: {} for name in value}
        if isinstance(value, dict):
            return {name: {} if options is None else options for name, options in value.items()}
        return value

    def targets(self) -> list[str]:
        """The data centres in rollout order, or one unnamed target when none are listed."""
        return list(self.datacenters) or [""]

    def options_of(self, datacenter: str) -> DeployerOptions | None:
        return self.datacenters.get(datacenter)

    def approvals_for(self, rollback: bool) -> int:
        """How many approvals a deploy, or a rollback, of this environment needs."""
        if rollback and self.rollback_approvals is not None:
            return self.rollback_approvals
        return self.approvals


class Source(_Model):
    """Where a service's code lives: the GitLab project whose tags are its versions. Lead time
    and the changelog read the commits between two versions from it, whatever the deployer."""

    gitlab_project: str = Field(pattern=r"^(\d+|[\w.-]+(/[\w.-]+)+)$")
    tag_format: str = Field(default="{version}", pattern=r"\{version\}")

    def ref_of(self, version: str) -> str:
        """The tag of ``version`` (``tag_format`` with ``{version}`` replaced)."""
        return self.tag_format.replace("{version}", version)


class Service(_Model):
    """A deployable service; which fields it needs depends on its deployer."""

    deployer: Deployer
    source: Source | None = None
    playbook: Path | None = None
    inventory: Path | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    ansible: AnsibleOptions | None = None
    kubernetes: KubernetesOptions | None = None
    gitlab: GitLabOptions | None = None
    argocd: ArgoCDOptions | None = None
    environments: dict[Name, Environment] = Field(min_length=1)

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: ModelWrapValidatorHandler[Service]) -> Service:
        """The keys and options its deployer needs, and no others (see bot.catalog.checks)."""
        return checked(data, handler, service_problems(data))

    @field_validator("playbook", "inventory")
    @classmethod
    def _existing_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get(BASE_DIR)
        if value is None or base is None:
            return value
        path = (Path(base) / value).resolve()
        if not path.is_file():
            raise ValueError(f"{info.field_name} {str(value)!r} not found (looked for {path})")
        return path

    def production(self) -> list[str]:
        """The environments delivery metrics count: those marked ``production: true``, or,
        when none is marked, the one named ``prod`` or ``production``."""
        marked = [name for name, env in self.environments.items() if env.production]
        named = [name for name in self.environments if name in PRODUCTION_NAMES]
        return marked or [n for n in named if self.environments[n].production is not False]

    def options_for(self, environment: str, datacenter: str) -> dict[str, Any]:
        """This deployer's options for one target, nearest level first (see bot.catalog.options)."""
        env = self.environments[environment]
        return merged(self.deployer, self, env, env.options_of(datacenter))


class MetricsDigest(_Model):
    """The delivery metrics card, posted on a schedule without anyone asking."""

    channel: ChannelId
    cron: CronLine = "0 9 * * MON"
    timezone: TimeZone = "UTC"
    period: DigestPeriod = "7d"  # the whole days before the day it is posted (catalog's zone)


class Notify(_Model):
    releases_channel: ChannelId
    metrics_digest: MetricsDigest | None = None
    audit_channel: ChannelId | None = None  # the audit trail's head hash, posted daily


class Catalog(_Model):
    """The whole catalog; `path` and `revision` are set by `load_catalog`, not by YAML."""

    notify: Notify
    timezone: TimeZone = "UTC"  # whose calendar days delivery metrics count in
    services: dict[Name, Service] = Field(min_length=1)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    _path: Path = PrivateAttr(default_factory=Path)
    _revision: str = PrivateAttr(default="")

    @property
    def path(self) -> Path:
        return self._path

    @property
    def revision(self) -> str:
        """First 12 hex digits of the sha256 of the catalog file's bytes."""
        return self._revision


class CatalogError(Exception):
    """The catalog cannot be used; `issues` says every reason found."""

    def __init__(self, path: str | Path, issues: list[CatalogIssue]) -> None:
        self.path = Path(path)
        self.issues = [replace(i, file=str(path)) for i in issues]
        super().__init__("\n".join(str(i) for i in self.issues))


def load_catalog(path: str | Path) -> Catalog:
    """Read, parse and validate the catalog at `path`, or raise CatalogError."""
    path = Path(path)
    raw = _read(path)
    root, data = _parse(path, raw)
    spelling = spelled(Catalog, data)
    issues = [*duplicate_keys(root, (), set())]
    issues += [at(root, spelling.as_written(key.loc), key.message) for key in spelling.unknown]
    try:
        catalog = Catalog.model_validate(spelling.data, context={BASE_DIR: path.absolute().parent})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        issues += [issue(root, spelling.as_written(e["loc"]), e) for e in errors]
    if issues:
        raise CatalogError(path, sorted(issues, key=lambda i: (i.line or 0, i.column or 0)))
    catalog._path, catalog._revision = path.absolute(), hashlib.sha256(raw).hexdigest()[:12]
    return catalog


def check_catalog(path: str | Path) -> list[CatalogIssue]:
    """Every issue in the catalog at `path`; empty when it is valid."""
    try:
        load_catalog(path)
    except CatalogError as exc:
        return exc.issues
    return []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = f"cannot read: {exc.strerror}"
        raise CatalogError(path, [CatalogIssue(None, None, "", reason)]) from None


def _parse(path: Path, raw: bytes) -> tuple[yaml.MappingNode, Any]:
    """The document's top node and its Python data; it must be one mapping."""
    try:
        root = yaml.compose(raw, Loader=yaml.SafeLoader)
        data = yaml.SafeLoader("").construct_document(root) if root else None
    except yaml.YAMLError as exc:
        raise CatalogError(path, [yaml_issue(exc, raw)]) from None
    if not isinstance(root, yaml.MappingNode):
        raise CatalogError(path, [not_a_mapping(root)])
    return root, data
