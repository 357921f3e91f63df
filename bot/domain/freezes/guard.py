"""Freezes enforced: when a request is made, when its deploy is about to start, and before
each data centre; and an emergency that breaks a freeze, told to the environment's channel.

- Made during a freeze: refused, naming the freeze and until when, unless it is an emergency
  (``--emergency``); outside any freeze, ``--emergency`` is refused as needless.
- About to start inside a freeze (it was approved before the freeze began): it is not
  claimed; it keeps its place at the head of its lane, its card says what it waits for, and a
  deferred job tries again when the freeze ends. Every start path (the approval, the lane
  moving on, the sweep) goes through :func:`held`, so none starts it earlier.
- A freeze that began mid-run: the data centres done stay as they are and the rest are skipped
  (see :func:`bot.domain.rollout.roll_out`); nothing is rolled back, since a rollback is a
  change too and the freeze forbids changes.
"""

from __future__ import annotations

import logging
import time

from bot.catalog.governance import Freeze
from bot.domain.freezes.policy import frozen_at
from bot.domain.freezes.spans import Frozen
from bot.domain.freezes.words import described, local, named, until
from bot.domain.lookup import Refused, environment_of
from bot.domain.policy import mention
from bot.domain.services import Services
from bot.models import AuditEvent, DeployRequest, State
from bot.ports.freezes import ChatFreeze

log = logging.getLogger(__name__)


async def in_force(
    services: Services, service: str, environment: str, at: float | None = None
) -> Frozen | None:
    """The freeze in force in ``service``'s ``environment`` (catalog and chat); None: open."""
    env = environment_of(services.catalog, service, environment)
    chat = await services.store.chat_freezes(environment, [service])
    return frozen_at(env.freeze, services.catalog.timezone, at or time.time(), chat)


def refuse_frozen(services: Services, request: DeployRequest, chat: list[ChatFreeze]) -> None:
    """The admission check (bot.domain.admission): refused during a freeze (the catalog's, or
    one of ``chat``, read for it) unless an emergency; ``--emergency`` refused outside one."""
    env = environment_of(services.catalog, request.service, request.environment)
    frozen = frozen_at(env.freeze, services.catalog.timezone, time.time(), chat)
    where = f"`{request.service}` in `{request.environment}`"
    if frozen is None and request.emergency:
        raise Refused(
            f"{where} is not frozen now, so `--emergency` is not needed (it is only for "
            "breaking a freeze, and asks for more approvals): ask again without it."
        )
    if frozen is None or request.emergency:
        return
    freeze = _freeze_of(services, request)
    raise Refused(
        f"{where} is frozen: {described(frozen, freeze, services.catalog.timezone)}. "
        "Nothing was recorded. Ask again then, or, if it cannot wait, add "
        "`--emergency <reason>` (it needs one more approval, and the channel is told)."
    )


async def waits_for_freeze(services: Services, request: DeployRequest) -> Frozen | None:
    """The freeze that holds a queued request back (None: it may start). A held request stays
    queued at the head of its lane; its card says why, and it is tried again at the end."""
    if request.state is not State.QUEUED:
        return None
    try:
        frozen = await in_force(services, request.service, request.environment)
    except Refused:  # its environment left the catalog: the run itself says so
        return None
    if frozen is None or request.emergency:
        if request.waiting:
            await services.store.set_waiting(request.id, "")
        return None
    waiting = until(frozen, services.catalog.timezone)
    if waiting != request.waiting:
        await services.store.set_waiting(request.id, waiting)
        await services.notifier.show(request.id)
    await services.queue.start_at(request.id, frozen.until + 1)
    log.info("request %s waits: %s", request.id, waiting)
    return frozen


async def frozen_before(services: Services, request: DeployRequest, place: str) -> str:
    """Why the next data centre must not start ("" when it may): a freeze began mid-run."""
    if request.emergency:
        return ""
    frozen = await in_force(services, request.service, request.environment)
    if frozen is None:
        return ""
    zone = services.catalog.timezone
    return (
        f"{named(frozen)} began (until {local(frozen.until, zone)} {zone}): stopped before "
        f"{place}; what was deployed stays, since a rollback would change it during the freeze"
    )


async def tell_broken(services: Services, request: DeployRequest) -> None:
    """An emergency starting during a freeze: its channel is told, and the audit trail."""
    if not request.emergency:
        return
    frozen = await in_force(services, request.service, request.environment)
    if frozen is None:
        return
    zone = services.catalog.timezone
    approvers = ", ".join(mention(a) for a in request.approvers) or "nobody"
    text = (
        f"🚨 *A freeze was broken*: {request.summary} (`{request.id}`) runs during "
        f"{until(frozen, zone)}. Asked by {mention(request.requester)}, approved by "
        f"{approvers}. Why: {request.emergency}"
    )
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    await services.notifier.post_blocks(request.channel, text, [section])
    detail = f"broke the freeze {frozen.reason!r} (until {local(frozen.until, zone)}): "
    await services.store.note(
        AuditEvent(
            actor=request.requester,
            event="emergency",
            request_id=request.id,
            service=request.service,
            environment=request.environment,
            detail=detail + request.emergency,
        )
    )


def _freeze_of(services: Services, request: DeployRequest) -> Freeze | None:
    return environment_of(services.catalog, request.service, request.environment).freeze
