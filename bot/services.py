"""The parts a handler or a worker needs, wired once at start and passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.catalog import Catalog
from bot.notify import Directory, JobQueue, Notifier
from bot.store import Store
from integrations.base import Deployer, Lookup


@dataclass
class Services:
    catalog: Catalog
    store: Store
    notifier: Notifier
    directory: Directory
    queue: JobQueue
    deployer_for: Callable[[str, str, str], Deployer]  # (service, environment, datacenter)
    lookup_deployment: Lookup | None = None  # GitLab, when GITLAB_URL and GITLAB_TOKEN are set
