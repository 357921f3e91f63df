"""One-off freezes from chat: `/shipbot freeze <service|all> <env> <duration|until time>
<reason>` and `/shipbot unfreeze <service|all> <env>`, by the environment's ``freezers``
(default: its approvers). User groups are resolved through Slack; when they cannot be, the
answer is no."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.freezes.words import local
from bot.domain.grammar import ShipbotCommand
from bot.domain.lookup import Refused, choices, environment_of
from bot.domain.policy import group_ids, mention
from bot.domain.services import Services
from bot.models import AuditEvent
from bot.ports.freezes import ALL, ChatFreeze


@dataclass(frozen=True)
class Unfrozen:
    ended: ChatFreeze
    started: list[str]  # queued requests it let start


async def freeze(services: Services, cmd: ShipbotCommand, user: str) -> ChatFreeze:
    """Record the chat freeze ``cmd`` asks for, if ``user`` may."""
    scope, environment = cmd.args
    names = await _allowed(services, scope, environment, user)
    now = time.time()
    ends = _ends(services, cmd, now)
    made = ChatFreeze(scope, environment, cmd.reason, user, now, ends)
    await services.store.set_freeze(made)
    detail = f"until {local(ends, services.catalog.timezone)}: {cmd.reason}"
    await _audit(services, "freeze", user, made, detail, names)
    return made


async def unfreeze(services: Services, cmd: ShipbotCommand, user: str) -> Unfrozen:
    """End the chat freeze ``cmd`` names, if ``user`` may; the lanes it held move on."""
    scope, environment = cmd.args
    names = await _allowed(services, scope, environment, user)
    ended = await services.store.end_freeze(scope, environment)
    if ended is None:
        raise Refused(
            f"No chat freeze of `{scope}` in `{environment}` to end. Freezes from the "
            "catalog (trading hours, windows) change only in the catalog: see `/shipbot freezes`."
        )
    await _audit(services, "unfreeze", user, ended, f"ended: {ended.reason}", names)
    started = []
    for name in names:  # the sweep would start them within 30 s; no need to wait
        if lane := await services.store.lane(name, environment):
            await services.queue.start(lane[0])
            started.append(lane[0])
    return Unfrozen(ended, started)


def services_with(services: Services, environment: str) -> list[str]:
    """The services that have ``environment``, or Refused naming the known environments."""
    names = [n for n, s in services.catalog.services.items() if environment in s.environments]
    if not names:
        known = {e for s in services.catalog.services.values() for e in s.environments}
        raise Refused(f"No service has an environment `{environment}`. Known: {choices(known)}.")
    return names


async def _allowed(services: Services, scope: str, environment: str, user: str) -> list[str]:
    """The services the freeze covers, when ``user`` is a freezer of each; Refused if not.
    For ``all``: of each that names freezers (an environment without approvers or freezers
    guards nothing, and is frozen along), and of one at least."""
    if scope == ALL:
        names = services_with(services, environment)
    else:
        environment_of(services.catalog, scope, environment)
        names = [scope]
    guarded = [n for n in names if _freezers(services, n, environment)] or names[:1]
    for name in guarded if scope == ALL else names:
        freezers = _freezers(services, name, environment)
        if not await _is_one_of(services, user, freezers):
            who = ", ".join(mention(f) for f in freezers) or "nobody (the catalog lists none)"
            raise Refused(
                f"You may not freeze or unfreeze `{name}` in `{environment}`: its freezers "
                f"are {who} (catalog: `freezers`, default the approvers)."
            )
    return names


def _freezers(services: Services, service: str, environment: str) -> list[str]:
    env = services.catalog.services[service].environments[environment]
    return env.approvers if env.freezers is None else env.freezers


async def _is_one_of(services: Services, user: str, freezers: list[str]) -> bool:
    if user in freezers:
        return True
    groups = group_ids(freezers)
    if not groups:
        return False
    members = await services.directory.groups_of(user, groups)
    if members is None:  # fail closed
        raise Refused(
            "shipbot couldn't check your user groups with Slack, so it can't tell whether you "
            "may freeze there. Please try again in a minute."
        )
    return bool(members)


def _ends(services: Services, cmd: ShipbotCommand, now: float) -> float:
    if cmd.seconds:
        return now + cmd.seconds
    zone = ZoneInfo(services.catalog.timezone)
    if len(cmd.until) <= 5:  # "15:30": the next such local time
        today = datetime.fromtimestamp(now, zone)
        clock = datetime.strptime(cmd.until, "%H:%M")
        ends = today.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        if ends.timestamp() <= now:
            ends = (ends.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
        return ends.timestamp()
    typed = datetime.strptime(cmd.until, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()
    if typed <= now:
        raise Refused(f"{cmd.until} ({services.catalog.timezone}) has passed already.")
    return typed


async def _audit(
    services: Services, event: str, user: str, chat: ChatFreeze, detail: str, names: list[str]
) -> None:
    scope = chat.service if chat.service != ALL else ",".join(names)
    audited = AuditEvent(
        actor=user, event=event, service=scope, environment=chat.environment, detail=detail
    )
    await services.store.note(audited)
