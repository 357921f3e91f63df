"""Opening a rollback: which version to return to, from the history of what succeeded.

`/rollback web-h5 prod` returns to the last version that succeeded before the one running
now; `/rollback web-h5 prod to v2.3.0` to a version from that history. Releases already
undone by a rollback are never returned to. A rollback then goes through the environment's
approval rule (``rollback_approvals`` when the catalog sets it) like any deploy.
"""

from __future__ import annotations

from bot.grammar import RollbackCommand
from bot.models import Action, HistoryEntry, State
from bot.requests import Asked, Opened, Refused, environment_of, new_request, record
from bot.services import Services

HISTORY_DEPTH = 200


async def open_rollback(
    services: Services, cmd: RollbackCommand, user: str, channel: str, delivery: str = ""
) -> Opened:
    env = environment_of(services.catalog, cmd.service, cmd.environment)
    live = await _live_releases(services, cmd.service, cmd.environment)
    if not live:
        raise Refused(
            f"Nothing to roll back: no successful deploy of `{cmd.service}` to "
            f"`{cmd.environment}` is recorded."
        )
    current, target = live[0], _target(cmd, live)
    reason = cmd.reason or f"roll back from {current.version}"
    asked = Asked(cmd.service, cmd.environment, target, reason, user, channel)
    request = new_request(services.catalog, asked, env, Action.ROLLBACK)
    request.undoes, request.undoes_version = current.request_id, current.version
    return await record(services, request, delivery)


async def _live_releases(services: Services, service: str, environment: str) -> list[HistoryEntry]:
    """Successful deploys and rollbacks, newest first, without the releases undone since."""
    entries = await services.store.history(service, environment, HISTORY_DEPTH)
    undone = await services.store.rolled_back(service, environment)
    return [e for e in entries if e.state is State.SUCCEEDED and e.request_id not in undone]


def _target(cmd: RollbackCommand, live: list[HistoryEntry]) -> str:
    current = live[0].version
    earlier = [e.version for e in live if e.version != current]
    if cmd.to_version is None:
        if not earlier:
            raise Refused(f"Nothing to roll back to: `{current}` is the only version recorded.")
        return earlier[0]
    if cmd.to_version == current:
        raise Refused(f"`{current}` is what runs in `{cmd.environment}` now.")
    if cmd.to_version not in earlier:
        known = ", ".join(f"`{v}`" for v in dict.fromkeys(earlier)) or "none"
        raise Refused(
            f"`{cmd.to_version}` has no successful deploy to `{cmd.environment}` on record. "
            f"Versions you can roll back to: {known}."
        )
    return cmd.to_version
