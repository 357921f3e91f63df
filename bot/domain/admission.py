"""Whether a new request may be recorded: the catalog's and the chat's rules, one after another.

Each check reads what it needs (the catalog, a lock, a freeze) and raises
:class:`~bot.domain.requests.Refused` with a message for the person when the request may not be
made; the first refusal wins and nothing is recorded. The checks run on the ack path: each
reads Redis at most once or twice and never calls Slack, GitLab or a deploy tool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.domain import askers, locks
from bot.domain.freezes.guard import check_freeze
from bot.domain.services import Services
from bot.models import DeployRequest

Check = Callable[[Services, DeployRequest], Awaitable[None]]

CHECKS: tuple[Check, ...] = (  # in order: who may ask, locks, freezes
    askers.may_ask,
    askers.approvable,
    locks.check,
    check_freeze,
)


async def admit(services: Services, request: DeployRequest) -> None:
    """Raise Refused when ``request`` may not be made; return when every check lets it."""
    for check in CHECKS:
        await check(services, request)
