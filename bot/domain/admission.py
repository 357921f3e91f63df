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
from bot.domain.lookup import Refused
from bot.domain.services import Services
from bot.models import DeployRequest


async def admit(services: Services, request: DeployRequest) -> bool:
    """Raise Refused when ``request`` may not be made. True: every check lets it so far, and
    the store must record it only if its environment has no lock and no chat freeze (the
    usual case, read in the create's own round trip; if there are, :func:`judge_restraints`
    and record again). False: the lock and chat freezes were read and judged here, as they
    are for an emergency or while the catalog freezes the environment."""
    await askers.may_ask(services, request)
    await askers.approvable(services, request)
    if not request.emergency and not _catalog_frozen(services, request):
        return True
    await judge_restraints(services, request)
    return False


async def judge_restraints(services: Services, request: DeployRequest) -> None:
    """The checks after who may ask, in order: the lock, then the catalog's and the chat's
    freezes (read together, in one round trip)."""
    restraints = await services.store.restraints(request.service, request.environment)
    locks.refuse_locked(services, request, restraints.lock)
    refuse_frozen(services, request, restraints.freezes)


def _catalog_frozen(services: Services, request: DeployRequest) -> bool:
    try:
        refuse_frozen(services, request, [])
    except Refused:
        return True
    return False
