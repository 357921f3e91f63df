"""The release note of one run: one message in the releases channel, posted as the run starts
and updated in place as it moves through data centres, fails or is rolled back.

As the run starts, what runs in the environment is read (before the first data centre
changes); the changelog is then looked up beside the rollout (GitLab's answers never hold a
deploy up), kept on the request, and the note posted. Progress updates it with the card (the
notifier updates both). When the run has ended, :mod:`bot.domain.finish` has the note updated
a last time with a summary in its thread; then, after a successful production deploy, the lead
times of the commits it shipped are recorded.
"""

from __future__ import annotations

import asyncio
import logging

from bot.domain.changelog import Looked, look_up, pending, previous_version, record_lead_times
from bot.domain.patience import best_effort, patiently
from bot.domain.services import Services
from bot.models import Changelog, DeployRequest, State
from bot.ports.source import Changes

log = logging.getLogger(__name__)
NOTE_WAIT_SECONDS = 3.0  # how long a run's end waits for its note; then the note follows it


class ReleaseNote:
    def __init__(self, services: Services, request: DeployRequest) -> None:
        self._services, self._request = services, request
        self._posting: asyncio.Task[Looked] | None = None
        self._previous = ""
        self._late = False  # the run ended first: its end posts the note, GitLab's answer follows

    async def open(self) -> None:
        """Read what runs before this release, then post its note beside the rollout."""
        store, request = self._services.store, self._request
        what = "read what ran before the release"
        before = await patiently(lambda: store.current(request.service, request.environment), what)
        self._previous = previous_version(request, before or {})
        self._posting = asyncio.create_task(self._post())

    async def settled(self) -> None:
        """Give the note a few seconds more once the rollout is done, no longer: a slow GitLab
        never holds up the run's end (nor the next request of its lane). When GitLab has not
        answered by then, the note the run's end posts says so, and :meth:`ended` puts the
        changes in it once GitLab answers."""
        if self._posting is None:
            return
        await asyncio.wait({self._posting}, timeout=NOTE_WAIT_SECONDS)
        if self._posting.done():
            return
        self._late = True
        waiting = pending(self._request, self._previous)
        await self._keep(waiting)

    async def posted(self) -> Changes | None:
        """Once the changes are known (or cannot be): those the note lists, None if unknown."""
        looked = await self._looked()
        return looked.changes if looked is not None else None

    def cancel(self) -> None:
        if self._posting:
            self._posting.cancel()

    async def ended(self, state: State | None) -> None:
        """After the run's end is recorded and told: GitLab's late answer into its note; a
        successful production deploy's lead times."""
        looked = await self._looked()
        if looked is not None and self._late and await self._keep(looked.changelog):
            rid = self._request.id
            await best_effort(self._services.notifier.release_note(rid), "update the note")
        if state is not State.SUCCEEDED:
            return
        store, rid = self._services.store, self._request.id
        final = await patiently(lambda: store.get(rid), "read the released request")
        if final is not None:
            await record_lead_times(self._services, final, looked.changes if looked else None)

    async def _looked(self) -> Looked | None:
        if self._posting is None:
            return None
        try:
            return await self._posting
        except Exception:  # the note never fails a deploy
            log.exception("the release note of %s broke off", self._request.id)
            return None

    async def _keep(self, changelog: Changelog) -> bool:
        services, rid = self._services, self._request.id

        async def keep() -> bool:
            await services.store.set_changelog(rid, changelog)
            return True

        return bool(await patiently(keep, "keep the changelog"))

    async def _post(self) -> Looked:
        services, request = self._services, self._request
        looked = await look_up(services, request, self._previous)
        if self._late:  # the run's end posts the note; ended() brings these changes to it
            return looked
        if await self._keep(looked.changelog):  # no note without its changelog
            await best_effort(services.notifier.release_note(request.id), "post the note")
        return looked
