"""`/shipbot freeze`, `unfreeze` and `freezes`: one call into bot/domain/freezes, then words."""

from __future__ import annotations

import time

from bot.catalog.model import Catalog
from bot.domain.freezes import chat
from bot.domain.freezes.listing import (
    CalendarRange,
    EnvironmentFreezes,
    calendar_ranges,
    listing,
)
from bot.domain.freezes.spans import Frozen, Source
from bot.domain.freezes.words import local, named
from bot.domain.grammar import ShipbotCommand
from bot.domain.policy import mention
from bot.domain.services import Services
from bot.ports.freezes import ALL

FREEZE_VERBS = ("freeze", "unfreeze")


async def freeze_command(services: Services, cmd: ShipbotCommand, user: str) -> str:
    """/shipbot freeze or unfreeze, by ``user``: what was done, in words."""
    zone = services.catalog.timezone
    if cmd.verb == "freeze":
        froze = await chat.freeze(services, cmd, user)
        made = froze.made
        where = f"{_scope(made.service)} in `{made.environment}`"
        if froze.kept:
            return (
                f"🧊 {where} is already frozen until {local(made.until, zone)} ({zone}) by "
                f"{mention(made.by)}: {made.reason}. Kept that freeze, which ends no earlier; "
                f"to end it sooner, `/shipbot unfreeze {made.service} {made.environment}` first."
            )
        replaced = (
            f" This replaced the freeze until {local(froze.replaced.until, zone)}: "
            f"{froze.replaced.reason}."
            if froze.replaced
            else ""
        )
        return (
            f"🧊 Froze {where} until {local(made.until, zone)} ({zone}): {made.reason}. No deploy "
            "starts there until then, except an emergency; approved requests wait in their "
            f"lanes.{replaced}"
        )
    done = await chat.unfreeze(services, cmd, user)
    moved = f" Starting `{'`, `'.join(done.started)}`." if done.started else ""
    return (
        f"Ended the freeze of {_scope(done.ended.service)} in `{done.ended.environment}` "
        f"({done.ended.reason}).{moved}"
    )


async def freezes_text(services: Services, environment: str | None) -> str:
    """/shipbot freezes [env]: in force and the next ones, in the catalog's time zone."""
    zone = services.catalog.timezone
    lines = [f"*Freezes* (times in {zone}; the next 7 days)"]
    for env in await listing(services, environment):
        lines += _environment(env, zone)
    return "\n".join(lines)


def calendar_warnings(catalog: Catalog) -> list[str]:
    """For /shipbot status: calendars past (or near) the end of their known range."""
    return [f"⚠️ {_range_line(r)}" for r in calendar_ranges(catalog, time.time())]


def _environment(env: EnvironmentFreezes, zone: str) -> list[str]:
    lines = [f"• `{env.environment}`" + ("" if env.entries else ": no freeze in the next 7 days")]
    for frozen, owners in env.entries:
        whose = "" if len(owners) == len(env.services) else f" ({', '.join(owners)})"
        lines.append(f"    ◦ {_when(frozen, zone)} {named(frozen)}{whose}{_assumed(frozen)}")
    lines += [f"    ⚠️ {_range_line(r)}" for r in env.ranges]
    return lines


def _when(frozen: Frozen, zone: str) -> str:
    ends = local(frozen.until, zone)
    if frozen.source is Source.CHAT or frozen.since <= time.time():
        return f"*now*, until {ends}:"
    starts = local(frozen.since, zone)
    same_day = starts[:14] == ends[:14]
    return f"{starts} to {ends[-5:] if same_day else ends}:"


def _assumed(frozen: Frozen) -> str:
    return " _(assumed: past the calendar's known range)_" if frozen.beyond_known else ""


def _range_line(r: CalendarRange) -> str:
    if r.beyond:
        return (
            f"`{r.service}` `{r.environment}`: the {r.calendar} calendar is known only until "
            f"{r.known_until}; every weekday's session hours count as trading (catalog "
            "`beyond_known`). Add the holidays and move `known_until`."
        )
    return (
        f"`{r.service}` `{r.environment}`: the {r.calendar} calendar is known only until "
        f"{r.known_until}; add next year's holidays and move `known_until`."
    )


def _scope(service: str) -> str:
    return "every service" if service == ALL else f"`{service}`"
