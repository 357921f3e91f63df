"""Locks: one person keeps a service's environment for their own deploys for a while.

`/shipbot lock` by anyone who may deploy, approve or administer there; while it lasts, new
deploys and rollbacks by anyone else are refused (:func:`refuse_locked`, an admission check). Its
holder unlocks it; an admin of the environment may break it, with a reason, and the holder is
told. Every lock ends by itself (default 4 hours, at most a week).
"""

from __future__ import annotations

from bot.catalog.model import Environment
from bot.domain.grammar import ShipbotCommand
from bot.domain.lookup import Refused, environment_of
from bot.domain.policy import mention
from bot.domain.services import Services
from bot.domain.who_may import (
    GROUPS_UNKNOWN,
    Notice,
    Said,
    among,
    lockers_of,
    moment,
    note,
    now,
    people,
)
from bot.models import DeployRequest
from bot.ports.locks import Lock, LockOutcome

DEFAULT_SECONDS = 4 * 3600
MAX_SECONDS = 7 * 86400


def refuse_locked(services: Services, request: DeployRequest, lock: Lock | None) -> None:
    """Admission: refuse a new request in an environment someone else has locked (``lock``,
    as read for it; None: free)."""
    if lock is None or lock.holder == request.requester:
        return
    raise Refused(
        f"{described(services, lock)}. Only they may deploy or roll back there until then; "
        f"they can `/shipbot unlock {lock.service} {lock.environment}`."
    )


async def lock(services: Services, cmd: ShipbotCommand, user: str, channel: str) -> Said:
    service, environment = cmd.args
    env = environment_of(services.catalog, service, environment)
    await _may_lock(services, env, user, f"lock `{service}` in `{environment}`")
    seconds = cmd.seconds or DEFAULT_SECONDS
    if seconds > MAX_SECONDS:
        raise Refused("A lock lasts at most 7 days (`for 7d`); lock it again when it ends.")
    at = now()
    wanted = Lock(service, environment, user, cmd.reason, at, at + seconds, channel)
    taken = await services.store.take_lock(wanted)
    if taken.outcome is LockOutcome.TAKEN:
        return Said(f"{described(services, taken.lock)}. Ask them to unlock it.")
    renewed = taken.outcome is LockOutcome.RENEWED
    until = moment(services.catalog, taken.lock.until)
    detail = f"{'renewed: ' if renewed else ''}{cmd.reason} (until {until})"
    await note(services, user, "lock", taken.lock, detail)
    return Said(
        f"🔒 {'Still locked' if renewed else 'Locked'} `{service}` in `{environment}` until "
        f"{moment(services.catalog, taken.lock.until)}: only you may deploy or roll back "
        f"there. `/shipbot unlock {service} {environment}` ends it."
    )


async def unlock(services: Services, cmd: ShipbotCommand, user: str, channel: str) -> Said:
    service, environment = cmd.args
    env = environment_of(services.catalog, service, environment)
    held = await services.store.lock_of(service, environment)
    if held is None:
        return Said(f"`{service}` in `{environment}` is not locked.")
    if held.holder == user:
        return await _release(services, held, user, cmd.reason)
    return await _break(services, env, held, user, cmd.reason)


def described(services: Services, lock: Lock) -> str:
    """``web-h5 in prod is locked by @x since … until …: why``."""
    catalog = services.catalog
    return (
        f"🔒 `{lock.service}` in `{lock.environment}` is locked by {mention(lock.holder)} "
        f"since {moment(catalog, lock.since)} until {moment(catalog, lock.until)}: {lock.reason}"
    )


async def _release(services: Services, held: Lock, user: str, reason: str) -> Said:
    released = await services.store.release_lock(held.service, held.environment, user)
    if released is None:
        return Said(f"`{held.service}` in `{held.environment}` is not locked any more.")
    await note(services, user, "unlock", released, reason)
    return Said(f"🔓 Unlocked `{held.service}` in `{held.environment}`.")


async def _break(services: Services, env: Environment, held: Lock, user: str, reason: str) -> Said:
    admin = await among(services, user, env.admins)
    if admin is None:
        return Said(GROUPS_UNKNOWN.format(what="break this lock"))
    if not admin:
        return Said(
            f"{described(services, held)}. Only they, or an admin of `{held.environment}` "
            f"({people(env.admins)}), may unlock it."
        )
    if not reason:
        return Said(
            f"{described(services, held)}. To break their lock, say why: "
            f"`/shipbot unlock {held.service} {held.environment} <reason>`."
        )
    broken = await services.store.release_lock(held.service, held.environment, held.holder)
    if broken is None:
        return Said("The lock changed meanwhile; see `/shipbot status` and try again.")
    await note(
        services,
        user,
        "lock_broken",
        broken,
        f"{reason} (held by {broken.holder}: {broken.reason})",
    )
    told = (
        f"🔓 {mention(user)} broke your lock on `{broken.service}` in `{broken.environment}`: "
        f"{reason}"
    )
    notice = Notice(broken.channel, broken.holder, told) if broken.channel else None
    return Said(
        f"🔓 Broke {mention(broken.holder)}'s lock on `{broken.service}` in "
        f"`{broken.environment}`; they are told.",
        notice,
    )


async def _may_lock(services: Services, env: Environment, user: str, what: str) -> None:
    lockers = lockers_of(env)
    if lockers is None:
        return
    allowed = await among(services, user, lockers)
    if allowed is None:
        raise Refused(GROUPS_UNKNOWN.format(what=what))
    if not allowed:
        raise Refused(
            f"You may not {what}: only who may deploy, approve or administer there may "
            f"({people(lockers)})."
        )
