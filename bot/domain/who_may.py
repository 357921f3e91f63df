"""Whether a person is among a list of Slack users and user groups, failing closed, and the
words, times and audit notes the lock and hold commands answer with."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.catalog.model import Catalog, Environment
from bot.domain.policy import group_ids, mention
from bot.domain.services import Services
from bot.models import AuditEvent
from bot.ports.locks import Hold, Lock

Kept = Lock | Hold  # what the lock and hold commands keep

GROUPS_UNKNOWN = (
    "shipbot couldn't check your user groups with Slack, so it can't let you {what}. "
    "Please try again in a minute."
)


@dataclass(frozen=True)
class Notice:
    """A private word for someone other than the person who typed the command."""

    channel: str
    user: str
    text: str


@dataclass(frozen=True)
class Said:
    """The answer to the person who typed the command, and maybe a word for someone else."""

    text: str
    notice: Notice | None = None


async def among(services: Services, user: str, ids: list[str]) -> bool | None:
    """Whether ``user`` is one of ``ids`` or in one of its user groups; None when Slack
    could not say (which the caller must take as no)."""
    each = await among_each(services, user, [ids])
    return None if each is None else each[0]


async def among_each(services: Services, user: str, lists: list[list[str]]) -> list[bool] | None:
    """For each of ``lists``, whether ``user`` is one of it or in one of its user groups.
    Slack is asked once, for the groups of every list that does not name ``user``, within one
    budget; None when it could not say (which the caller must take as no)."""
    groups = unique([g for ids in lists if user not in ids for g in group_ids(ids)])
    found = await services.directory.groups_of(user, groups) if groups else set()
    if found is None:
        return None
    return [user in ids or bool(found & set(group_ids(ids))) for ids in lists]


def approvers_of(env: Environment) -> list[str]:
    """Everyone who may approve there: ``approvers`` and each approval rule's."""
    return unique([*env.approvers, *(a for rule in env.approval_rules for a in rule.approvers)])


def deciders_of(env: Environment) -> list[str] | None:
    """Who may hold a data centre: its approvers and admins; when it lists none, who may
    deploy there (None: anyone)."""
    deciders = unique([*approvers_of(env), *env.admins])
    return deciders or env.deployers


def lockers_of(env: Environment) -> list[str] | None:
    """Who may lock it: who may deploy there (None: anyone), approve there, or administer it."""
    if env.deployers is None:
        return None
    return unique([*env.deployers, *approvers_of(env), *env.admins])


def people(ids: Iterable[str]) -> str:
    return ", ".join(mention(i) for i in ids) or "nobody"


def moment(catalog: Catalog, at: float) -> str:
    """``2027-01-04 09:00 Asia/Shanghai``: a time in the catalog's time zone."""
    local = datetime.fromtimestamp(at, ZoneInfo(catalog.timezone))
    return f"{local:%Y-%m-%d %H:%M} {catalog.timezone}"


def now() -> float:
    return time.time()


def unique(ids: list[str]) -> list[str]:
    """``ids`` in their order, each once."""
    return list(dict.fromkeys(ids))


async def note(services: Services, user: str, event: str, kept: Kept, detail: str) -> None:
    """Audit ``event`` by ``user`` on a lock's or hold's service and environment."""
    noted = AuditEvent(
        actor=user,
        event=event,
        service=kept.service,
        environment=kept.environment,
        detail=detail,
    )
    await services.store.note(noted)
