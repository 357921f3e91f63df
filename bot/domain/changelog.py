"""What a release brings: the merge requests and commits between the version that ran before
and this one, from the service's code source (bot/ports/source.py), and the lead times of a
successful production deploy's commits.

Nothing here blocks or fails a deploy: a service without ``source``, a GitLab out of reach or
a tag GitLab does not know gives a changelog that says so in a few words, and no lead times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.catalog.model import Source
from bot.domain.metrics.days import day_of
from bot.domain.patience import best_effort
from bot.domain.services import Services
from bot.models import Action, ChangeLine, Changelog, Deployed, DeployRequest, State
from bot.ports.source import Changes, CodeSource, SourceUnavailable

log = logging.getLogger(__name__)

MAX_LINES = 20  # a note lists at most this many changes, then links the full compare
LOOKUP_SECONDS = 30.0  # GitLab gets this long to say what changed
_TITLE = 100  # characters of a title shown


@dataclass(frozen=True)
class Looked:
    """A changelog as the note shows it, and the changes behind it (None: unknown)."""

    changelog: Changelog
    changes: Changes | None


def previous_version(request: DeployRequest, before: Mapping[str, Deployed]) -> str:
    """What ran in the environment before ``request`` ("" when nothing did): the version in
    its first data centre that runs something."""
    known = [before[t] for t in request.targets if t in before] or list(before.values())
    return known[0].version if known else ""


def pending(request: DeployRequest, previous: str) -> Changelog:
    """The changelog while GitLab has not answered yet."""
    return _shown(request, previous).model_copy(update={"missing": "GitLab has not answered yet"})


def _shown(request: DeployRequest, previous: str) -> Changelog:
    rollback = request.action is Action.ROLLBACK
    older, newer = (request.version, previous) if rollback else (previous, request.version)
    return Changelog(older=older, newer=newer, taken_out=rollback)


async def look_up(services: Services, request: DeployRequest, previous: str) -> Looked:
    """The changes ``request`` brings over ``previous`` (a rollback: those it takes out)."""
    rollback = request.action is Action.ROLLBACK
    shown = _shown(request, previous)
    if rollback and not previous:
        return Looked(shown.model_copy(update={"missing": "nothing ran before"}), None)
    entry = services.catalog.services.get(request.service)
    where = entry.source if entry else None
    if where is None or services.source is None:
        why = "no source in the catalog" if where is None else "GitLab not configured"
        return Looked(shown.model_copy(update={"missing": why}), None)
    try:
        changes = await _changes(services.source, where, shown.older, shown.newer)
    except SourceUnavailable as error:
        return Looked(
            shown.model_copy(update={"missing": str(error) or "source unavailable"}), None
        )
    return Looked(summarised(shown, changes), changes)


def summarised(shown: Changelog, changes: Changes) -> Changelog:
    """The merge requests (newest merged first), then the commits (newest first), at most
    MAX_LINES in all."""
    merged = [
        ChangeLine(ref=f"!{mr.iid}", title=_cut(mr.title), url=mr.url, author=mr.author,
                   merge_request=True)
        for mr in reversed(changes.merge_requests)
    ]  # fmt: skip
    commits = [
        ChangeLine(ref=c.sha[:8], title=_cut(c.title), url=c.url, author=c.author)
        for c in reversed(changes.commits)
    ]
    return shown.model_copy(
        update={
            "lines": (merged + commits)[:MAX_LINES],
            "merge_requests": len(merged),
            "commits": len(commits),
            "compare_url": changes.compare_url,
        }
    )


async def record_lead_times(
    services: Services, request: DeployRequest, changes: Changes | None
) -> None:
    """After a successful production deploy: how long each commit it shipped waited since it
    was committed (None when its commits could not be told). Best effort."""
    if request.action is not Action.DEPLOY or request.state is not State.SUCCEEDED:
        return
    service = services.catalog.services.get(request.service)
    if service is None or request.environment not in service.production():
        return
    done = request.finished_at
    leads = None if changes is None else [max(done - c.committed_at, 0.0) for c in changes.commits]
    day = day_of(done, services.catalog.timezone)
    recording = services.store.record_lead_times(
        request.service, request.environment, request.id, day, leads
    )
    await best_effort(recording, f"record the lead times of {request.id}")


def _cut(title: str) -> str:
    return title if len(title) <= _TITLE else title[: _TITLE - 1] + "…"


async def _changes(source: CodeSource, where: Source, older: str, newer: str) -> Changes:
    refs = (where.ref_of(older) if older else None, where.ref_of(newer))
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            return await source.changes(where.gitlab_project, *refs)
    except TimeoutError:
        raise SourceUnavailable("GitLab too slow") from None
    except SourceUnavailable:
        raise
    except Exception as error:  # a bug in the source never fails a deploy
        log.exception("reading the changes of %s failed", where.gitlab_project)
        raise SourceUnavailable("changes unreadable") from error
