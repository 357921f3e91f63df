"""Opening a rollback: which version to return to, from the history of what succeeded.

`/rollback web-h5 prod` returns to the last version that succeeded before the one running
now; `/rollback web-h5 prod to v2.3.0` to a version from that history. Releases already
undone by a rollback are never returned to. A rollback then goes through the environment's
approval rule (``rollback_approvals`` when the catalog sets it) like any deploy.

While a request of the same service and environment is queued or running, /rollback is
refused: its target would be computed without that release, and Stop already undoes a running
deploy. A rollback whose release was superseded before it ran is not run.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.grammar import RollbackCommand
from bot.domain.lookup import Refused, environment_of
from bot.domain.requests import Asked, Opened, new_request, record
from bot.domain.services import Services
from bot.models import Action, DeployRequest, HistoryEntry, State

HISTORY_DEPTH = 200


async def open_rollback(
    services: Services, cmd: RollbackCommand, user: str, channel: str, delivery: str = ""
) -> Opened:
    env = environment_of(services.catalog, cmd.service, cmd.environment)
    await _refuse_while_in_flight(services, cmd.service, cmd.environment)
    releases = await _releases(services, cmd.service, cmd.environment)
    if not releases.live:
        raise Refused(
            f"Nothing to roll back: no successful deploy of `{cmd.service}` to "
            f"`{cmd.environment}` is recorded."
        )
    current, target = releases.live[0], _target(cmd, releases)
    reason = cmd.reason or f"roll back from {current.version}"
    asked = Asked(cmd.service, cmd.environment, target, reason, user, channel)
    request = new_request(services.catalog, asked, env, Action.ROLLBACK)
    request.undoes, request.undoes_version = current.request_id, current.version
    request.ran_before = await _running(services, cmd.service, cmd.environment)
    request.emergency = cmd.emergency
    return await record(services, request, delivery)


@dataclass(frozen=True)
class Releases:
    live: list[HistoryEntry]  # successful deploys and rollbacks not undone since, newest first
    undone: list[HistoryEntry]  # successful deploys a rollback undid, newest first


async def _releases(services: Services, service: str, environment: str) -> Releases:
    entries = await services.store.history(service, environment, HISTORY_DEPTH)
    undone_ids = await services.store.rolled_back(service, environment)
    succeeded = [e for e in entries if e.state is State.SUCCEEDED]
    return Releases(
        live=[e for e in succeeded if e.request_id not in undone_ids],
        undone=[e for e in succeeded if e.request_id in undone_ids],
    )


async def stale_rollback(services: Services, rollback: DeployRequest) -> str:
    """Why a rollback about to run must not: what runs where changed since it was asked for
    (another release ran meanwhile), so its target was worked out from what is gone; or ""."""
    now = await _running(services, rollback.service, rollback.environment)
    if now == rollback.ran_before:
        return ""
    return (
        f"what runs in {rollback.environment} changed since this rollback was asked for "
        f"({rollback.ran_before or 'nothing'} → {now or 'nothing'}), so it was not run; ask "
        "again with `/rollback` if it is still needed"
    )


async def _running(services: Services, service: str, environment: str) -> str:
    """What runs in each data centre, as one comparable line: ``dc-a=v2 dc-b=v2``."""
    current = await services.store.current(service, environment)
    return " ".join(f"{target or environment}={d.version}" for target, d in current.items())


async def _refuse_while_in_flight(services: Services, service: str, environment: str) -> None:
    """A rollback computed while a deploy is queued or running would skip over that deploy's
    release: refuse, and say how to undo that deploy instead."""
    lane = await services.store.lane(service, environment)  # queued and running, in order
    in_flight = [r for r in [await services.store.get(rid) for rid in lane] if r is not None]
    if not in_flight:
        return
    what = ", ".join(f"`{r.id}` ({r.summary}, {r.state.value})" for r in in_flight)
    how = []
    if any(r.state is State.RUNNING for r in in_flight):
        how.append(
            "To undo a running one, press *Stop* on its card: shipbot stops it and returns the "
            "data centres it changed to what they ran before."
        )
    if any(r.state is not State.RUNNING for r in in_flight):
        how.append(
            "A queued one can be cancelled on its card or with `/shipbot cancel <request-id>`."
        )
    raise Refused(
        f"`{service}` has requests in progress in `{environment}`: {what}. A rollback now would "
        f"be worked out without them, so it is refused. {' '.join(how)} Once they have ended, "
        "`/rollback` works as usual."
    )


def _target(cmd: RollbackCommand, releases: Releases) -> str:
    current = releases.live[0].version
    earlier = [e.version for e in releases.live if e.version != current]
    if cmd.to_version is None:
        if not earlier:
            raise Refused(f"Nothing to roll back to: `{current}` is the only version recorded.")
        return earlier[0]
    if cmd.to_version == current:
        raise Refused(f"`{current}` is what runs in `{cmd.environment}` now.")
    if cmd.to_version in earlier:
        return cmd.to_version
    undone = next((e for e in releases.undone if e.version == cmd.to_version), None)
    if undone is not None:
        raise Refused(
            f"`{undone.version}` was deployed to `{cmd.environment}` (`{undone.request_id}`) "
            "and later rolled back, and a rollback never returns to an undone release. "
            f"To run it again, deploy it: `/deploy {cmd.service} {undone.version} to "
            f"{cmd.environment}`."
        )
    known = ", ".join(f"`{v}`" for v in dict.fromkeys(earlier)) or "none"
    raise Refused(
        f"`{cmd.to_version}` has no successful deploy to `{cmd.environment}` on record. "
        f"Versions you can roll back to: {known}."
    )
