"""`/shipbot freezes [env]` and the calendar warnings of `/shipbot status`: values the
handlers render."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

from bot.catalog.model import Catalog
from bot.domain.freezes.chat import services_with
from bot.domain.freezes.exchange import exchange, known_until
from bot.domain.freezes.policy import next_freezes
from bot.domain.freezes.spans import Frozen
from bot.domain.metrics.days import today
from bot.domain.services import Services

log = logging.getLogger(__name__)
SOON_DAYS = 30  # a calendar known for less than this long is mentioned too


@dataclass(frozen=True)
class CalendarRange:
    """How far one environment's exchange calendar is known, and whether now is past it."""

    service: str
    environment: str
    calendar: str
    known_until: date
    beyond: bool  # today is past it: the catalog's beyond_known rule is in force


@dataclass
class EnvironmentFreezes:
    environment: str
    services: list[str]  # the services with this environment
    entries: list[tuple[Frozen, list[str]]] = field(default_factory=list)  # and whose it is
    ranges: list[CalendarRange] = field(default_factory=list)


async def listing(services: Services, environment: str | None) -> list[EnvironmentFreezes]:
    """For each environment (or the one named): the freeze in force and the next ones."""
    catalog, now = services.catalog, time.time()
    names = [environment] if environment else _environments(catalog)
    listed = []
    for name in names:
        owners = services_with(services, name)
        found = EnvironmentFreezes(name, owners)
        chat = await services.store.chat_freezes(name, owners)
        for service in owners:
            env = catalog.services[service].environments[name]
            mine = [c for c in chat if c.service in ("all", service)]
            for frozen in next_freezes(env.freeze, catalog.timezone, now, mine):
                _add(found, frozen, service)
        found.entries.sort(key=lambda e: (e[0].since, e[0].until))
        found.ranges = [r for r in calendar_ranges(catalog, now) if r.environment == name]
        listed.append(found)
    return listed


def calendar_ranges(catalog: Catalog, at: float, soon_days: int = SOON_DAYS) -> list[CalendarRange]:
    """The calendars past their known range at ``at``, or within ``soon_days`` of its end."""
    found, day = [], today(catalog.timezone, at)
    for service_name, service in catalog.services.items():
        for name, env in service.environments.items():
            freeze = env.freeze
            last = known_until(freeze) if freeze is not None else None
            if freeze is None or freeze.calendar is None or last is None:
                continue
            if (last - day).days < soon_days:
                found.append(CalendarRange(service_name, name, freeze.calendar, last, day > last))
    return found


def prepare(catalog: Catalog) -> None:
    """At start: load the exchange calendars the catalog names (slow, once per process), and
    warn about any past or near the end of its known range."""
    for service in catalog.services.values():
        for env in service.environments.values():
            if env.freeze is not None and env.freeze.calendar is not None:
                exchange(env.freeze.calendar)
    warn_calendar_ranges(catalog)


_warned: dict[str, date] = {}


def warn_calendar_ranges(catalog: Catalog, at: float | None = None) -> None:
    """Log each calendar past (or near) its known range, once a day per process."""
    at = at or time.time()
    day = today(catalog.timezone, at)
    if _warned.get(catalog.revision) == day:
        return
    _warned[catalog.revision] = day
    for r in calendar_ranges(catalog, at):
        state = "is past" if r.beyond else "nears the end of"
        log.warning(
            "the %s calendar of %s/%s %s its known range (%s): add its holidays and move "
            "freeze.known_until in the catalog",
            r.calendar, r.service, r.environment, state, r.known_until,
        )  # fmt: skip


def _environments(catalog: Catalog) -> list[str]:
    return list(dict.fromkeys(e for s in catalog.services.values() for e in s.environments))


def _add(found: EnvironmentFreezes, frozen: Frozen, service: str) -> None:
    for entry, owners in found.entries:
        if (entry.since, entry.until, entry.reason) == (frozen.since, frozen.until, frozen.reason):
            owners.append(service)
            return
    found.entries.append((frozen, [service]))
