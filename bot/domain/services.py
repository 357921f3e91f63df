"""The parts a handler or a worker needs, wired once at start and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.catalog.model import Catalog
from bot.ports.deployer import Deployer, Lookup
from bot.ports.health import HealthProbe
from bot.ports.notify import Directory, JobQueue, Notifier
from bot.ports.source import CodeSource
from bot.ports.store import Store


@dataclass
class Services:
    catalog: Catalog
    store: Store
    notifier: Notifier
    directory: Directory
    queue: JobQueue
    deployer_for: Callable[[str, str, str], Deployer]  # (service, environment, datacenter)
    health: HealthProbe  # the environment's health check after each data centre
    lookup_deployment: Lookup | None = None  # GitLab, when GITLAB_URL and GITLAB_TOKEN are set
    source: CodeSource | None = None  # GitLab's commits and merges, likewise
