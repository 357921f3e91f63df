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

from bot.domain.changelog import look_up, previous_version, record_lead_times
from bot.domain.patience import best_effort, patiently
from bot.domain.services import Services
from bot.models import DeployRequest, State
from bot.ports.source import Changes

log = logging.getLogger(__name__)


class ReleaseNote:
    def __init__(self, services: Services, request: DeployRequest) -> None:
        self._services, self._request = services, request
        self._posting: asyncio.Task[Changes | None] | None = None

    async def open(self) -> None:
        """Read what runs before this release, then post its note beside the rollout."""
        store, request = self._services.store, self._request
        what = "read what ran before the release"
        before = await patiently(lambda: store.current(request.service, request.environment), what)
        previous = previous_version(request, before or {})
        self._posting = asyncio.create_task(self._post(previous))

    async def posted(self) -> Changes | None:
        """Once the note is posted (or could not be): the changes it lists, None if unknown."""
        if self._posting is None:
            return None
        try:
            return await self._posting
        except Exception:  # the note never fails a deploy
            log.exception("the release note of %s broke off", self._request.id)
            return None

    def cancel(self) -> None:
        if self._posting:
            self._posting.cancel()

    async def ended(self, state: State | None) -> None:
        """After the run's end is recorded: a successful production deploy's lead times."""
        if state is not State.SUCCEEDED:
            return
        changes, store, rid = await self.posted(), self._services.store, self._request.id
        final = await patiently(lambda: store.get(rid), "read the released request")
        if final is not None:
            await record_lead_times(self._services, final, changes)

    async def _post(self, previous: str) -> Changes | None:
        services, request = self._services, self._request
        looked = await look_up(services, request, previous)

        async def keep() -> bool:
            await services.store.set_changelog(request.id, looked.changelog)
            return True

        if not await patiently(keep, "keep the changelog"):
            return looked.changes  # no note without its changelog
        await best_effort(services.notifier.release_note(request.id), "post the release note")
        return looked.changes
