"""Slack user-group membership (``usergroups.users.list``), for who may ask and approve.

https://api.slack.com/methods/usergroups.users.list

Members are cached in Redis for a short while (bot.store.signals.GROUP_TTL), so any replica
reads what one looked up. The groups an answer needs are asked at once, and the answer waits
``seconds`` in all (default: :data:`patience`, 1.5 s, safe on any ack path; a button's
decision, finished after the ack when need be, lets it wait longer): past that it is None
(fail closed: the caller refuses, and says to try again). A lookup that outlives the wait
goes on, up to GROUP_CALL_SECONDS, and fills the cache for the next try; two waits for one
group share one lookup.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports.store import Store, StoreUnavailable
from handlers.slack_api_errors import count_failure

log = logging.getLogger(__name__)
GROUP_BUDGET_SECONDS = 1.5  # an answer about several groups waits at most this, in all
CLICK_BUDGET_SECONDS = 4.0  # ... when it may be finished after the ack (handlers/actions.py)
patience: ContextVar[float] = ContextVar("patience", default=GROUP_BUDGET_SECONDS)
GROUP_CALL_SECONDS = 10.0  # one lookup, left running past a wait, may take this long
_ERRORS = (SlackApiError, aiohttp.ClientError, OSError, TimeoutError)

Members = set[str] | None  # None: Slack could not tell


class SlackDirectory:
    """The Directory (bot.ports.notify) over Slack's Web API and the store's group cache."""

    def __init__(self, client: AsyncWebClient, store: Store) -> None:
        self.client, self.store = client, store
        self._asking: dict[str, asyncio.Task[Members]] = {}

    async def groups_of(
        self, user: str, groups: list[str], seconds: float | None = None
    ) -> set[str] | None:
        members = await self._members(groups, patience.get() if seconds is None else seconds)
        if members is None:
            return None
        return {group for group in groups if user in members[group]}

    async def warm(self, groups: list[str]) -> None:
        await self._members(groups, GROUP_CALL_SECONDS)

    async def _members(self, groups: list[str], seconds: float) -> dict[str, set[str]] | None:
        """Each group's members, from the cache or asked of Slack at once; None unless all
        are known within ``seconds``."""
        known = await self.store.cached_groups(list(dict.fromkeys(groups)))
        asking = {group: self._ask(group) for group in groups if group not in known}
        if not asking:
            return known
        _, late = await asyncio.wait(asking.values(), timeout=seconds)
        if late:
            log.warning("Slack usergroups.users.list: no answer within %ss", seconds)
            return None
        for group, task in asking.items():
            members = task.result()
            if members is None:
                return None
            known[group] = members
        return known

    def _ask(self, group: str) -> asyncio.Task[Members]:
        """The lookup of ``group`` under way, or a new one."""
        if group not in self._asking:
            task = asyncio.create_task(self._lookup(group))
            self._asking[group] = task
            task.add_done_callback(lambda _: self._asking.pop(group, None))
        return self._asking[group]

    async def _lookup(self, group: str) -> Members:
        try:
            async with asyncio.timeout(GROUP_CALL_SECONDS):
                response = await self.client.usergroups_users_list(usergroup=group)
        except _ERRORS as error:
            why = _describe(error)
            log.warning("Slack usergroups.users.list failed for %s: %s", group, why)
            await count_failure(self.store, "usergroups.users.list", why)
            return None
        members = set(response.get("users") or [])
        try:
            await self.store.cache_group(group, members)
        except StoreUnavailable:
            log.warning("could not cache user group %s: Redis unavailable", group)
        return members


def _describe(error: Exception) -> str:
    """What Slack said (its error code), or the kind of transport failure."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "unknown error"))
    return type(error).__name__
