"""Whether a new request may be recorded: the catalog's and the chat's rules, one after another.

Each check raises :class:`~bot.domain.requests.Refused` with a message for the person when the
request may not be made; the first refusal wins and nothing is recorded. In order: who may ask
(the catalog; group membership from the Redis cache, or Slack within its budget), whether its
rules can be approved, its environment's lock, freezes (the catalog's and the chat's). The
checks run on the ack path: the lock and the chat freezes are read together, in one round
trip; nothing here calls GitLab or a deploy tool.
"""

from __future__ import annotations

from bot.domain import askers, locks
from bot.domain.freezes.guard import refuse_frozen
from bot.domain.services import Services
from bot.models import DeployRequest


async def admit(services: Services, request: DeployRequest) -> None:
    """Raise Refused when ``request`` may not be made; return when every check lets it."""
    await askers.may_ask(services, request)
    await askers.approvable(services, request)
    restraints = await services.store.restraints(request.service, request.environment)
    locks.refuse_locked(services, request, restraints.lock)
    refuse_frozen(services, request, restraints.freezes)
