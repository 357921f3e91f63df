"""Reject with a reason: the button opens a modal (views.open) asking why; its submission
(view_submission) is checked like the click was, then ends the request as rejected.

The modal carries the request and the card's channel in ``private_metadata``. A submission the
rules refuse (no longer an approver, the request decided or gone meanwhile) is answered in the
modal itself (``response_action: errors``), so the person sees why where they typed.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement, SectionBlock
from slack_sdk.models.views import View

from bot.domain import approvals
from bot.domain.services import Services
from bot.ports.store import StoreUnavailable
from handlers.background import Background
from handlers.guard import STORE_DOWN, delivery_key, guarded, where
from handlers.outcomes import carry_out
from handlers.routes import REASON_BLOCK, REASON_INPUT, REJECT, REJECT_VIEW

MAX_REASON = 500
NO_REASON = "Say why you reject it: the requester and the audit trail will read it."


def register(app: AsyncApp, services: Services, later: Background) -> None:
    app.action(REJECT)(guarded(_clicked(services, later), services.notifier))
    app.view(REJECT_VIEW)(guarded(_submitted(services, later), services.notifier))


def modal(request_id: str, channel: str, title: str) -> dict[str, Any]:
    """The modal asking why: the request and the card's channel in its private_metadata."""
    reason = PlainTextInputElement(
        action_id=REASON_INPUT, multiline=True, max_length=MAX_REASON,
        placeholder="e.g. the change window is tomorrow; the release notes are missing",
    )  # fmt: skip
    view = View(
        type="modal",
        callback_id=REJECT_VIEW,
        title="Reject this request",
        submit="Reject",
        close="Keep it",
        private_metadata=json.dumps({"request": request_id, "channel": channel}),
        blocks=[
            SectionBlock(text=f"*{title[:200]}*\nNothing is deployed; the requester is told why."),
            InputBlock(block_id=REASON_BLOCK, label="Why?", element=reason, optional=False),
        ],
    )
    return view.to_dict()


def _clicked(services: Services, later: Background) -> Any:
    async def reject(ack: Any, body: dict[str, Any]) -> None:
        request_id = (body.get("actions") or [{}])[0].get("value", "")
        channel, user = where(body)
        refused = await approvals.rejectable(services, request_id, user, delivery_key(body))
        await ack()
        if refused is not None:
            if refused.say:
                later.spawn(services.notifier.tell(channel, user, refused.say))
            return
        request = await services.store.get(request_id)
        title = f"Reject {request.summary}?" if request else "Reject this request?"
        view = modal(request_id, channel, title)
        later.spawn(services.notifier.open_view(str(body.get("trigger_id", "")), view))

    return reject


def _submitted(services: Services, later: Background) -> Any:
    async def reject_with_reason(ack: Any, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        request_id, _ = _metadata(view)
        reason = _reason(view)
        if not reason or len(reason) > MAX_REASON:
            said = f"At most {MAX_REASON} characters, please." if reason else NO_REASON
            await ack(response_action="errors", errors={REASON_BLOCK: said})
            return
        _, user = where(body)
        try:
            outcome = await approvals.reject(services, request_id, user, delivery_key(body), reason)
        except StoreUnavailable:
            await ack(response_action="errors", errors={REASON_BLOCK: STORE_DOWN})
            return
        if outcome.say:
            await ack(response_action="errors", errors={REASON_BLOCK: outcome.say})
            return
        await carry_out(services, later, request_id, outcome)
        await ack()

    return reject_with_reason


def _metadata(view: dict[str, Any]) -> tuple[str, str]:
    """(request id, channel) the modal was opened for; ("", "") when unreadable."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return "", ""
    if not isinstance(meta, dict):
        return "", ""
    return str(meta.get("request", "")), str(meta.get("channel", ""))


def _reason(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    value = (values.get(REASON_INPUT) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""
