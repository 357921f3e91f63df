"""Holds: deploys skip one data centre (in maintenance, say) until it is released.

`/shipbot hold <service|all> <env> <dc> <reason> [for <duration>]` by the environment's
approvers or admins (when it lists none, by who may deploy there); every service's environment
when ``all``, in which case the person must be one of them in each environment that has the
data centre. A hold ends by itself (default 24 hours, at most 30 days) or by `/shipbot unhold`.
The rollout reads the holds of a data centre when it reaches it (:func:`held_why`).
"""

from __future__ import annotations

from bot.catalog.model import Catalog, Environment
from bot.domain.grammar import ShipbotCommand
from bot.domain.lookup import Refused, choices, environment_of
from bot.domain.patience import until_answered
from bot.domain.policy import mention
from bot.domain.services import Services
from bot.domain.who_may import (
    GROUPS_UNKNOWN,
    Said,
    among_each,
    deciders_of,
    moment,
    note,
    now,
    people,
)
from bot.models import DeployRequest
from bot.ports.locks import ALL, Hold

DEFAULT_SECONDS = 24 * 3600
MAX_SECONDS = 30 * 86400


async def hold(services: Services, cmd: ShipbotCommand, user: str, channel: str) -> Said:
    service, environment, datacenter = cmd.args
    await _may_hold(services, cmd, user)
    seconds = cmd.seconds or DEFAULT_SECONDS
    if seconds > MAX_SECONDS:
        raise Refused("A hold lasts at most 30 days (`for 30d`); hold it again when it ends.")
    at = now()
    held = Hold(service, environment, datacenter, user, cmd.reason, at, at + seconds)
    await services.store.put_hold(held)
    until = moment(services.catalog, held.until)
    await note(services, user, "hold", held, f"{datacenter}: {cmd.reason} (until {until})")
    return Said(
        f"⏸️ Held `{datacenter}` of {_whose(service)} in `{environment}` until {until}: "
        f"deploys skip it. `/shipbot unhold {service} {environment} {datacenter}` releases it."
    )


async def unhold(services: Services, cmd: ShipbotCommand, user: str, channel: str) -> Said:
    service, environment, datacenter = cmd.args
    await _may_hold(services, cmd, user)
    released = await services.store.release_hold(service, environment, datacenter)
    if released is None:
        return Said(f"`{datacenter}` of {_whose(service)} in `{environment}` is not held.")
    await note(services, user, "unhold", released, datacenter)
    return Said(f"▶️ Released `{datacenter}` of {_whose(service)} in `{environment}`.")


async def held_why(services: Services, request: DeployRequest, target: str) -> str:
    """Why the rollout must skip ``target`` ("held by @x: why"), or "" when it is not held."""
    if not target:
        return ""
    holds = await until_answered(
        lambda: services.store.holds_at(request.service, request.environment, target),
        "read the holds",
    )
    return "; ".join(_why(services.catalog, h) for h in holds)


async def all_held(services: Services, request: DeployRequest) -> str:
    """Why a request must not run at all when every one of its data centres is held ("" when
    some may be deployed)."""
    whys = [(t, await held_why(services, request, t)) for t in request.targets]
    if not whys or not all(why for _, why in whys):
        return ""
    each = "; ".join(f"{target} {why}" for target, why in whys)
    return f"every data centre is held, so nothing was run: {each}"


async def holds_in(services: Services, service: str, environment: str) -> list[Hold]:
    """The holds in force on one service's environment, data centre by data centre."""
    env = environment_of(services.catalog, service, environment)
    return [
        h for dc in env.datacenters for h in await services.store.holds_at(service, environment, dc)
    ]


def _why(catalog: Catalog, held: Hold) -> str:
    return f"held by {mention(held.holder)} until {moment(catalog, held.until)}: {held.reason}"


def _whose(service: str) -> str:
    return "every service" if service == ALL else f"`{service}`"


async def _may_hold(services: Services, cmd: ShipbotCommand, user: str) -> None:
    """Refused unless the data centre is one of the environment's and ``user`` may hold it
    in every environment that has it; in doubt (Slack can't say), refused."""
    service, environment, datacenter = cmd.args
    envs = _having(services.catalog, service, environment, datacenter)
    lists = [d for d in map(deciders_of, envs) if d is not None]
    allowed = await among_each(services, user, lists)
    what = f"{cmd.verb} `{datacenter}` of {_whose(service)} in `{environment}`"
    if allowed is None:
        raise Refused(GROUPS_UNKNOWN.format(what=what))
    for ids, ok in zip(lists, allowed, strict=True):
        if not ok:
            raise Refused(f"You may not {what}: only its approvers and admins may ({people(ids)}).")


def _having(catalog: Catalog, service: str, environment: str, datacenter: str) -> list[Environment]:
    """The environments a hold of ``datacenter`` applies to; Refused when there are none."""
    if service != ALL:
        env = environment_of(catalog, service, environment)
        if datacenter not in env.datacenters:
            known = choices(env.datacenters) if env.datacenters else "none"
            raise Refused(
                f"`{datacenter}` is not a data centre of `{service}` in `{environment}`. "
                f"Its data centres: {known}."
            )
        return [env]
    envs = [
        s.environments[environment]
        for s in catalog.services.values()
        if environment in s.environments
    ]
    if not envs:
        raise Refused(f"No service has an environment `{environment}`.")
    having = [env for env in envs if datacenter in env.datacenters]
    if not having:
        known = choices({dc for env in envs for dc in env.datacenters}) or "none"
        raise Refused(
            f"`{datacenter}` is not a data centre of any service in `{environment}`. "
            f"Data centres there: {known}."
        )
    return having
