"""Who may ask for deploys and rollbacks: the environment's ``deployers`` (user and user-group
IDs; absent: anyone). Admission checks (bot.domain.admission): they raise Refused, privately
naming who may.

On the ack path: group membership comes from the Redis cache, or from Slack asked about every
group at once within the directory's budget (1.5 s) in all; past that the request is refused
(fail closed) and the lookup goes on to fill the cache, so trying again a moment later works.
"""

from __future__ import annotations

from bot.domain.lookup import Refused, environment_of
from bot.domain.policy import mention
from bot.domain.services import Services
from bot.domain.who_may import among
from bot.models import DeployRequest


async def may_ask(services: Services, request: DeployRequest) -> None:
    """Refused unless the requester is one of the environment's deployers (or in their group)."""
    allowed = environment_of(services.catalog, request.service, request.environment).deployers
    if allowed is None or request.requester in allowed:
        return
    where = f"`{request.service}` in `{request.environment}`"
    if not allowed:
        raise Refused(f"Nobody may ask for deploys or rollbacks of {where}: no deployers listed.")
    who = ", ".join(mention(a) for a in allowed)
    found = await among(services, request.requester, allowed)  # the directory's 1.5 s budget
    if found:
        return
    if found is None:
        raise Refused(
            "shipbot couldn't check your user groups with Slack in time, so it can't accept "
            f"this request. Please try again in a minute. Who may ask for {where}: {who}."
        )
    raise Refused(f"You may not ask for deploys or rollbacks of {where}. Only {who} may.")


async def approvable(services: Services, request: DeployRequest) -> None:
    """Refused when one of the request's rules lists nobody who could approve it."""
    empty = [rule for rule in request.rules if rule.approvals and not rule.approvers]
    if empty:
        raise Refused(
            f"This request can't be approved: its {empty[0].kind} rule lists no approvers "
            f"for `{request.service}` in `{request.environment}`. Please ask whoever keeps "
            "the catalog to name them."
        )
