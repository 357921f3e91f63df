"""An approval is bound to what was shown: the commit a version's tag names.

When a service names its GitLab ``source`` and GitLab is configured, the tag of the version
asked for is resolved as the new request is announced, before its card is first posted (never
on the ack path), and kept on the request: ``commit_sha`` (and its page), or ``commit_note``
saying why it could not be told. The card shows it.

As the deploy is about to start, the tag is resolved again. When it now names another commit,
the request is voided: what would run is not what was approved. When GitLab cannot confirm the
commit then, the request is voided too (fail closed). A request whose commit could not be told
when it was made (its card said so, and its approvers approved without one) is not voided at
start: the commit it runs is resolved then and shown, best effort.

The tag is asked for once more before each later data centre (:func:`moved_since_start`), since
a deployer resolves the version when each data centre starts: when it moved (or cannot be
confirmed), the rollout stops there as if that data centre had failed. Deployers are also given
the bound commit (``DeployJob.commit``) so a playbook or pipeline can deploy exactly it.
"""

from __future__ import annotations

import asyncio
import logging

from bot.catalog.model import Source
from bot.domain.services import Services
from bot.models import DeployRequest
from bot.ports.source import CodeSource, Commit, SourceUnavailable

log = logging.getLogger(__name__)

LOOKUP_SECONDS = 10.0  # GitLab gets this long to name a tag's commit


async def announce(services: Services, request_id: str) -> None:
    """A new request's commit bound, then its card posted (the worker's announce job)."""
    await bind(services, request_id)
    await services.notifier.show(request_id)


async def bind(services: Services, request_id: str) -> None:
    """Resolve and keep the commit of the request's version, once (a retried job or the
    sweep's later announce keeps what was found first)."""
    request = await services.store.get(request_id)
    if request is None or request.commit_sha or request.commit_note:
        return
    await _bind(services, request)


async def moved(services: Services, request: DeployRequest) -> str:
    """Why the request must not start because its tag no longer names the commit its card
    showed, or could not be confirmed to ("" when it may start)."""
    found = _source(services, request)
    if found is None:
        return ""
    if not request.commit_sha:  # none was shown: bind it now, best effort
        await _bind(services, request)
        return ""
    why, unconfirmed = await _drift(*found, request)
    if not why:
        return ""
    if unconfirmed:
        return f"{why}, so nothing was run; ask again once GitLab answers"
    return f"{why}; ask again"


async def moved_since_start(services: Services, request: DeployRequest) -> str:
    """Checked before each later data centre: why the rollout must not go on, because the tag
    now names another commit than the one bound to the request, or GitLab cannot confirm it
    does (fail closed); "" when it still does, or no commit is bound (nothing to compare)."""
    found = _source(services, request)
    if found is None or not request.commit_sha:
        return ""
    why, _ = await _drift(*found, request)
    return f"{why}, so it was not deployed" if why else ""


async def _drift(source: CodeSource, where: Source, request: DeployRequest) -> tuple[str, bool]:
    """What is wrong with the request's commit ("" when its tag still names it), and whether
    it is that GitLab could not confirm it."""
    tag, was = where.ref_of(request.version), request.commit_sha[:8]
    try:
        now = await _commit_of(source, where, request.version)
    except SourceUnavailable as error:
        return f"GitLab could not confirm that tag {tag} still names commit {was} ({error})", True
    if now.sha != request.commit_sha:
        return f"tag {tag} moved from {was} to {now.sha[:8]} since it was approved", False
    return "", False


async def _bind(services: Services, request: DeployRequest) -> None:
    found = _source(services, request)
    if found is None:
        return
    try:
        commit = await _commit_of(*found, request.version)
    except SourceUnavailable as error:
        await services.store.set_commit(request.id, "", str(error) or "source unavailable")
        return
    await services.store.set_commit(request.id, commit.sha, "", commit.url)


def _source(services: Services, request: DeployRequest) -> tuple[CodeSource, Source] | None:
    entry = services.catalog.services.get(request.service)
    if entry is None or entry.source is None or services.source is None:
        return None
    return services.source, entry.source


async def _commit_of(source: CodeSource, where: Source, version: str) -> Commit:
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            return await source.commit_of(where.gitlab_project, where.ref_of(version))
    except TimeoutError:
        raise SourceUnavailable("GitLab too slow") from None
    except SourceUnavailable:
        raise
    except Exception as error:  # a bug in the source: the commit is not told (fail closed)
        log.exception("resolving tag %s failed", where.ref_of(version))
        raise SourceUnavailable("commit unreadable") from error
