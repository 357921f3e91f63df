"""Whether a person is among a list of Slack users and user groups, failing closed, and the
words and times the lock and hold commands answer with."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.catalog.model import Catalog, Environment
from bot.domain.policy import group_ids, mention
from bot.domain.services import Services

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
    if user in ids:
        return True
    groups = group_ids(ids)
    if not groups:
        return False
    found = await services.directory.groups_of(user, groups)
    return None if found is None else bool(found)


def approvers_of(env: Environment) -> list[str]:
    """Everyone who may approve there: ``approvers`` and each approval rule's."""
    return _unique([*env.approvers, *(a for rule in env.approval_rules for a in rule.approvers)])


def deciders_of(env: Environment) -> list[str] | None:
    """Who may hold a data centre: its approvers and admins; when it lists none, who may
    deploy there (None: anyone)."""
    deciders = _unique([*approvers_of(env), *env.admins])
    return deciders or env.deployers


def lockers_of(env: Environment) -> list[str] | None:
    """Who may lock it: who may deploy there (None: anyone), approve there, or administer it."""
    if env.deployers is None:
        return None
    return _unique([*env.deployers, *approvers_of(env), *env.admins])


def people(ids: Iterable[str]) -> str:
    return ", ".join(mention(i) for i in ids) or "nobody"


def moment(catalog: Catalog, at: float) -> str:
    """``2027-01-04 09:00 Asia/Shanghai``: a time in the catalog's time zone."""
    local = datetime.fromtimestamp(at, ZoneInfo(catalog.timezone))
    return f"{local:%Y-%m-%d %H:%M} {catalog.timezone}"


def now() -> float:
    return time.time()


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))
