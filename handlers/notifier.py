"""The Notifier over Slack's Web API (chat.*; the Directory is in handlers.directory).

Every message goes out through ``SlackNotifier._api``, which passes each string in it (text,
and every string of its Block Kit blocks) through the one scrubber: what a deploy tool said
(a task's output, a job's log, an Argo CD message) reaches Slack without its secrets.

Slack being slow or down never fails a deploy: errors are logged (without tokens) and dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog.model import Catalog
from bot.models import UNASKED, DeployRequest, State
from bot.ports.notify import Upload
from bot.ports.store import Store, StoreUnavailable
from bot.scrub import scrub_all
from handlers.blocks import Rendered, card
from handlers.coalesce import Coalescer
from handlers.release_notes import release_note, run_summary
from handlers.slack_api_errors import count_failure

log = logging.getLogger(__name__)
SLACK_ERRORS = (SlackApiError, aiohttp.ClientError, OSError, TimeoutError)


class SlackNotifier:
    def __init__(self, client: AsyncWebClient, store: Store, catalog: Catalog) -> None:
        self.client, self.store, self.catalog = client, store, catalog
        self.coalescer = Coalescer(interval=2.0)

    async def show(self, request_id: str, *, final: bool = False) -> None:
        request = await self.store.get(request_id)
        if request is None:
            return
        if not request.card_ts:
            await self._post_card(request)
            return
        if final:  # the note's last update is released()'s: none of its earlier ones after it
            self.coalescer.drop(_note(request_id))
        await self.coalescer.submit(request_id, lambda: self._update_card(request_id), final=final)
        if request.note_ts and not final:  # the release note follows the card's progress
            await self.release_note(request_id)

    async def tell(self, channel: str, user: str, text: str) -> None:
        await self._call("chat.postEphemeral", channel=channel, user=user, text=text)

    async def thread(self, request: DeployRequest, text: str) -> None:
        channel, ts = request.card_channel or request.channel, request.card_ts or None
        await self._call("chat.postMessage", channel=channel, thread_ts=ts, text=text)

    async def release_note(self, request_id: str) -> None:
        request = await self.store.get(request_id)
        if request is None or request.changelog is None:
            return
        if not request.note_ts:
            await self._post_note(request)
            return
        await self.coalescer.submit(_note(request_id), lambda: self._update_note(request_id))

    async def released(self, request: DeployRequest) -> None:
        channel, ts = request.note_channel, request.note_ts
        if ts:
            note = channel, ts, *release_note(request)
            await self.coalescer.submit(
                _note(request.id), lambda: self._set_note(*note), final=True
            )
        else:  # Slack would not take it as the run started
            channel, ts = await self._post_note(request)
        if ts:
            text = run_summary(request)
            await self._call("chat.postMessage", channel=channel, thread_ts=ts, text=text)

    async def undone(self, request_id: str, by: DeployRequest) -> None:
        request = await self.store.get(request_id)
        if request is None or not request.note_ts:
            return
        note = request.note_channel, request.note_ts, *release_note(request, undone_by=by)
        await self.coalescer.submit(_note(request_id), lambda: self._set_note(*note), final=True)

    async def _post_note(self, request: DeployRequest) -> tuple[str, str]:
        """Post the note; its (channel, ts), or ("", "") when Slack would not take it."""
        text, blocks = release_note(request)
        channel = self.catalog.notify.releases_channel
        answer = await self._call("chat.postMessage", channel=channel, text=text, blocks=blocks)
        if answer is None:
            return "", ""
        await self.store.set_note(request.id, answer["channel"], answer["ts"])
        return answer["channel"], answer["ts"]

    async def _update_note(self, request_id: str) -> None:
        request = await self._latest(request_id, "note")
        if request is None or not request.note_ts:
            return
        await self._set_note(request.note_channel, request.note_ts, *release_note(request))

    async def _set_note(self, channel: str, ts: str, text: str, blocks: list[Any]) -> None:
        await self._call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    # -- metrics cards and their charts (issue 9) ---------------------------------------------

    async def post_blocks(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None
    ) -> str | None:
        answer = await self._call(
            "chat.postMessage", channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
        )
        return str(answer["ts"]) if answer and answer.get("ts") else None

    async def upload_file(self, channel: str, upload: Upload) -> bool:
        """Slack's upload in three steps (files.getUploadURLExternal, the POST of the bytes,
        files.completeUploadExternal), as slack_sdk's files_upload_v2 makes them; every string
        scrubbed, a failure logged and dropped."""
        try:
            await self.client.files_upload_v2(
                channel=channel,
                filename=scrub_all(upload.filename),
                content=upload.content,
                title=scrub_all(upload.title),
                initial_comment=scrub_all(upload.comment) or None,
                thread_ts=upload.thread_ts,
            )
        except (*SLACK_ERRORS, SlackRequestError) as error:
            await count_failure(self.store, "files_upload_v2", _describe(error))
            log.warning("Slack file upload failed: %s", _why(error))
            return False
        return True

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        """views.open (https://docs.slack.dev/reference/methods/views.open); the trigger
        lasts 3 seconds, so this runs right after the click's ack."""
        return await self._call("views.open", trigger_id=trigger_id, view=view) is not None

    async def _post_card(self, request: DeployRequest) -> None:
        text, blocks = await self._card(request)
        args = {"channel": request.channel, "text": text, "blocks": blocks}
        try:
            answer = await self._api("chat.postMessage", args)
        except SlackApiError as refused:  # Slack answered no: the requester must know
            await self._card_refused(request, _describe(refused))
            return
        except SLACK_ERRORS as error:  # Slack unreachable: the sweep posts the card later
            log.warning("Slack chat.postMessage failed: %s", _why(error))
            return
        if answer is not None:
            await self.store.set_card(request.id, answer["channel"], answer["ts"])

    async def _card_refused(self, request: DeployRequest, why: str) -> None:
        """Slack would not take the card (e.g. a private channel without the bot): tell the
        requester directly, since nobody can approve or follow what they cannot see."""
        text = (
            f"I couldn't post the card of `{request.id}` ({request.service} {request.version} "
            f"to {request.environment}) in <#{request.channel}>: Slack said `{why}`. "
            "Invite me to that channel, or ask again in a channel I'm in. "
            "The request stays open until it expires."
        )
        await self._call("chat.postMessage", channel=request.requester, text=text)

    async def _latest(self, request_id: str, what: str) -> DeployRequest | None:
        """The request as it is now, for a delayed update of its ``what``; None when gone, or
        when Redis is unavailable (the next update shows the latest)."""
        try:
            return await self.store.get(request_id)
        except StoreUnavailable as error:
            log.warning("%s of %s not updated: Redis unavailable (%s)", what, request_id, error)
            return None

    async def _update_card(self, request_id: str) -> None:
        request = await self._latest(request_id, "card")
        if request is None:
            return
        text, blocks = await self._card(request)
        await self._call(
            "chat.update",
            channel=request.card_channel,
            ts=request.card_ts,
            text=text,
            blocks=blocks,
        )

    async def _card(self, request: DeployRequest) -> Rendered:
        """The card; a queued one says so when no worker is alive to run it."""
        workers = UNASKED
        if request.state in (State.QUEUED, State.APPROVED):
            with contextlib.suppress(StoreUnavailable):  # then the card just does not warn
                workers = await self.store.workers()
        return card(request, self._approvers(request), workers)

    def _approvers(self, request: DeployRequest) -> list[str]:
        service = self.catalog.services.get(request.service)
        env = service.environments.get(request.environment) if service else None
        return env.approvers if env else []

    async def _call(self, method: str, **kwargs: object) -> dict[str, Any] | None:
        """A Web API call whose failure is logged and dropped (the deploy goes on)."""
        try:
            return await self._api(method, kwargs)
        except SLACK_ERRORS as error:
            log.warning("Slack %s failed: %s", method, _why(error))
            return None

    async def _api(self, method: str, kwargs: Mapping[str, object]) -> dict[str, Any] | None:
        """The one way out to Slack: every string argument scrubbed, here and only here."""
        args = {k: scrub_all(v) for k, v in kwargs.items() if v is not None}
        try:
            response = await self.client.api_call(method, json=args)
        except SLACK_ERRORS as error:
            await count_failure(self.store, method, _describe(error))
            raise
        return dict(response.data) if isinstance(response.data, dict) else None


def _note(request_id: str) -> str:
    """The coalescer's key of a request's release note (its card's is the request id)."""
    return f"{request_id}:note"


def _describe(error: Exception) -> str:
    """What Slack said (its error code), or the kind of transport failure."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "unknown error"))
    return type(error).__name__


def _why(error: Exception) -> str:
    """For the log: _describe and the transport's own words (the formatter scrubs them)."""
    said = "" if isinstance(error, SlackApiError) else str(error)
    return f"{_describe(error)} ({said})" if said else _describe(error)
