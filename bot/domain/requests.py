"""Opening a deploy request: checked against the catalog, recorded, queued if none must approve."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from bot.catalog.model import Catalog, Environment
from bot.domain import admission
from bot.domain.grammar import DEPLOY_LINE, DeployCommand
from bot.domain.ids import new_request_id
from bot.domain.lookup import Refused, choices, environment_of, service_of
from bot.domain.rules import rules_for
from bot.domain.services import Services
from bot.logcontext import bind
from bot.models import UNASKED, Action, Created, DeployRequest, Restrained, State, Step, Workers
from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    request: DeployRequest
    start_now: bool = False  # queued and at the head of its lane: a worker should run it
    replay: bool = False  # this Slack delivery was seen before; nothing was created
    workers: Workers = UNASKED
    handed_over: bool = False  # its job was written with it: nothing to enqueue after


async def handed(services: Services, opened: Opened) -> None:
    """Make sure a new request is with the workers: its record carried its job, or it is
    enqueued now (see :func:`hand_over`)."""
    if not opened.handed_over and not opened.replay:
        await hand_over(services, opened.request.id, opened.start_now)


async def hand_over(services: Services, request_id: str, start_now: bool) -> None:
    """Give a recorded request to the workers: run it, or post its card.

    The request is already safe in Redis; if this enqueue fails, the worker's sweep enqueues
    it again within a minute, so the person is not told that nothing was recorded.
    """
    try:
        await (services.queue.start if start_now else services.queue.announce)(request_id)
    except StoreUnavailable:
        log.warning("could not enqueue %s; the sweep will", request_id)


def entry_revision(catalog: Catalog, service: str) -> str:
    """A fingerprint of one service's catalog entry: what a request was checked and approved
    against. Edits to other services leave it alone, and so does a new shipbot release that
    adds a catalog key with a default: keys left at their defaults are not fingerprinted.
    Computed once per catalog file."""
    key = (catalog.revision, service)
    if key not in _FINGERPRINTS:
        entry = catalog.services[service].model_dump_json(exclude_defaults=True).encode()
        _FINGERPRINTS[key] = hashlib.sha256(entry).hexdigest()[:12]
    return _FINGERPRINTS[key]


_FINGERPRINTS: dict[tuple[str, str], str] = {}


async def open_deploy(
    services: Services, cmd: DeployCommand, user: str, channel: str, delivery: str = ""
) -> Opened:
    if not cmd.environment:
        raise Refused(_missing_piece(services.catalog, cmd))
    env = environment_of(services.catalog, cmd.service, cmd.environment)
    asked = Asked(cmd.service, cmd.environment, cmd.version, cmd.reason, user, channel)
    request = new_request(services.catalog, asked, env)
    request.hotfix, request.emergency = cmd.hotfix, cmd.emergency
    return await record(services, request, delivery)


async def record(services: Services, request: DeployRequest, delivery: str) -> Opened:
    """Store a new request once per Slack delivery, if the rules let it be made (Refused
    otherwise); say whether a worker should start it."""
    bind(request)
    env = environment_of(services.catalog, request.service, request.environment)
    rollback, emergency = request.action is Action.ROLLBACK, bool(request.emergency)
    request.rules = rules_for(env, rollback, emergency)
    request.approvals_needed = sum(rule.approvals for rule in request.rules)
    unchecked = await admission.admit(services, request)
    jobs = services.queue.handover(request.id)
    created = await services.store.create(request, delivery, jobs, unrestrained=unchecked)
    if isinstance(created, Restrained):  # a lock or a chat freeze is there: judge, then record
        await admission.judge_restraints(services, request)
        created = await services.store.create(request, delivery, jobs)
    if not isinstance(created, Created):  # None: this Slack delivery was seen before
        return Opened(request, replay=True)
    request.state, request.queued_behind = created.state, created.ahead
    at_head = created.state is State.QUEUED and created.head == request.id
    return Opened(request, at_head, workers=created.workers, handed_over=created.handed_over)


@dataclass(frozen=True)
class Asked:
    """What a person asked for, before the catalog's rules are applied."""

    service: str
    environment: str
    version: str
    reason: str
    user: str
    channel: str


def new_request(
    catalog: Catalog, asked: Asked, env: Environment, action: Action = Action.DEPLOY
) -> DeployRequest:
    now = time.time()
    return DeployRequest(
        id=new_request_id(),
        action=action,
        service=asked.service,
        environment=asked.environment,
        version=asked.version,
        requester=asked.user,
        reason=asked.reason,
        channel=asked.channel,
        catalog_revision=entry_revision(catalog, asked.service),
        approvals_needed=env.approvals_for(rollback=action is Action.ROLLBACK),
        created_at=now,
        expires_at=now + env.expire_after_minutes * 60,
        steps=[Step(target=t) for t in env.targets()],
    )


def _missing_piece(catalog: Catalog, cmd: DeployCommand) -> str:
    """`/deploy web-h5 prod` lacks the version; `/deploy web-h5 v1` the environment."""
    environments = service_of(catalog, cmd.service).environments
    if cmd.version in environments:
        example = f"/deploy {cmd.service} v1.2.3 to {cmd.version}"
        return (
            f"Missing the version: `{cmd.version}` is an environment of `{cmd.service}`, and "
            f"the version goes before it, as in `{example}`.\nUsage: {DEPLOY_LINE}"
        )
    return (
        f"Missing the environment. Environments of `{cmd.service}`: {choices(environments)}."
        f"\nUsage: {DEPLOY_LINE}"
    )
