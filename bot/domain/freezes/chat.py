"""One-off freezes from chat: `/shipbot freeze <service|all> <env> <duration|until time>
<reason>` and `/shipbot unfreeze <service|all> <env>`, by the environment's ``freezers``
(default: its approvers). User groups are resolved through Slack, all at once within one
budget; when they cannot be, the answer is no.

A second freeze of the same service (or ``all``) and environment never shortens the first:
when the first ends no earlier it is kept, and the answer says so; when the new one ends later,
it replaces the first, and the answer and the audit trail say which it replaced."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.freezes.words import local
from bot.domain.grammar import ShipbotCommand
from bot.domain.lookup import Refused, choices, environment_of
from bot.domain.services import Services
from bot.domain.who_may import among_each, people
from bot.models import AuditEvent
from bot.ports.freezes import ALL, ChatFreeze


@dataclass(frozen=True)
class FreezeMade:
    """What `/shipbot freeze` did: ``made`` is the freeze now in force; ``replaced`` the one it
    replaced (None: there was none); ``kept`` is True when an earlier freeze that ends no
    earlier was kept instead (then ``made`` is that one)."""

    made: ChatFreeze
    replaced: ChatFreeze | None = None
    kept: bool = False


@dataclass(frozen=True)
class Unfrozen:
    ended: ChatFreeze
    started: list[str]  # queued requests it let start


async def freeze(services: Services, cmd: ShipbotCommand, user: str) -> FreezeMade:
    """Record the chat freeze ``cmd`` asks for, if ``user`` may."""
    scope, environment = cmd.args
    names = await _allowed(services, scope, environment, user)
    now = time.time()
    ends = _ends(services, cmd, now)
    made = ChatFreeze(scope, environment, cmd.reason, user, now, ends)
    earlier = await services.store.set_freeze(made)
    if earlier is not None and earlier.until >= ends:
        return FreezeMade(earlier, kept=True)
    zone = services.catalog.timezone
    detail = f"until {local(ends, zone)}: {cmd.reason}"
    if earlier is not None:
        detail += f" (replaced the freeze until {local(earlier.until, zone)}: {earlier.reason})"
    await _audit(services, "freeze", user, made, detail, names)
    return FreezeMade(made, earlier)


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
    checked = guarded if scope == ALL else names
    lists = [_freezers(services, name, environment) for name in checked]
    allowed = await among_each(services, user, lists)
    if allowed is None:  # fail closed
        raise Refused(
            "shipbot couldn't check your user groups with Slack, so it can't tell whether you "
            "may freeze there. Please try again in a minute."
        )
    for name, freezers, ok in zip(checked, lists, allowed, strict=True):
        if not ok:
            who = people(freezers) if freezers else "nobody (the catalog lists none)"
            raise Refused(
                f"You may not freeze or unfreeze `{name}` in `{environment}`: its freezers "
                f"are {who} (catalog: `freezers`, default the approvers)."
            )
    return names


def _freezers(services: Services, service: str, environment: str) -> list[str]:
    env = services.catalog.services[service].environments[environment]
    return env.approvers if env.freezers is None else env.freezers


def _ends(services: Services, cmd: ShipbotCommand, now: float) -> float:
    if cmd.seconds:
        return now + cmd.seconds
    zone = ZoneInfo(services.catalog.timezone)
    if len(cmd.until) <= 5:  # "15:30": the next such local time
        today = datetime.fromtimestamp(now, zone)
        clock = _typed(services, cmd.until, "%H:%M")
        ends = today.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        if ends.timestamp() <= now:
            ends = (ends.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
        return ends.timestamp()
    typed = _typed(services, cmd.until, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()
    if typed <= now:
        raise Refused(f"{cmd.until} ({services.catalog.timezone}) has passed already.")
    return typed


def _typed(services: Services, until: str, form: str) -> datetime:
    """The time typed after ``until``; Refused, saying what is accepted, when it is none."""
    try:
        return datetime.strptime(until, form)
    except ValueError:
        raise Refused(
            f"`until {until}` is not a time: write `until HH:MM` (the next such time, e.g. "
            "`until 15:30`) or `until YYYY-MM-DD HH:MM` (e.g. `until 2027-01-04 09:00`), "
            f"in {services.catalog.timezone}."
        ) from None


async def _audit(
    services: Services, event: str, user: str, chat: ChatFreeze, detail: str, names: list[str]
) -> None:
    scope = chat.service if chat.service != ALL else ",".join(names)
    audited = AuditEvent(
        actor=user, event=event, service=scope, environment=chat.environment, detail=detail
    )
    await services.store.note(audited)
