"""/shipbot lock, unlock, hold and unhold: one call into bot/, and the lines status shows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.catalog.model import Catalog
from bot.domain import holds, locks
from bot.domain.grammar import ShipbotCommand
from bot.domain.policy import mention
from bot.domain.reports import EnvironmentStatus
from bot.domain.services import Services
from bot.domain.who_may import Said, moment
from bot.ports.locks import ALL
from handlers.background import Background
from handlers.guard import where

Verb = Callable[[Services, ShipbotCommand, str, str], Awaitable[Said]]
VERBS: dict[str, Verb] = {
    "lock": locks.lock,
    "unlock": locks.unlock,
    "hold": holds.hold,
    "unhold": holds.unhold,
}


async def answer(services: Services, later: Background, cmd: ShipbotCommand, body: Any) -> str:
    """Do what ``cmd`` asks; tell anyone else it concerns (the holder of a broken lock) after
    the ack."""
    channel, user = where(body)
    said = await VERBS[cmd.verb](services, cmd, user, channel)
    if said.notice:
        notice = said.notice
        later.spawn(services.notifier.tell(notice.channel, notice.user, notice.text))
    return said.text


def kept_lines(env: EnvironmentStatus, catalog: Catalog) -> list[str]:
    """The lock and the holds of one environment, as `/shipbot status` lists them (times in
    the catalog's time zone, as the lock and hold answers say them)."""
    lines = []
    if env.lock:
        lock = env.lock
        lines.append(
            f"🔒 locked by {mention(lock.holder)} until {moment(catalog, lock.until)}: "
            f"{lock.reason}"
        )
    for hold in env.holds:
        whose = " (every service)" if hold.service == ALL else ""
        lines.append(
            f"⏸️ `{hold.datacenter}` held{whose} by {mention(hold.holder)} until "
            f"{moment(catalog, hold.until)}: {hold.reason}"
        )
    return lines
