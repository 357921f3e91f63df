"""The store's record of what runs where, what ran and what was undone (the audit trail is
bot/store/audit.py's)."""

from __future__ import annotations

import time

from bot.models import AuditEvent, Deployed, DeployRequest, HistoryEntry, State
from bot.ports.metrics import Mark
from bot.store import scripts
from bot.store.audit import AuditStore
from bot.store.base import translated
from bot.store.metrics import MetricsStore
from bot.store.scripts import HISTORY_KEEP

EXTERNAL_TTL = 30 * 86400


class HistoryStore(AuditStore, MetricsStore):
    @translated
    async def record_deployed(self, r: DeployRequest, target: str, version: str = "") -> None:
        """``target`` now runs ``version`` (default: the request's), put there by r."""
        deployed = Deployed(
            version=version or r.version, request_id=r.id, requester=r.requester, at=time.time()
        )
        key = self.key.current(r.service, r.environment)
        await self.redis.hset(key, target, deployed.model_dump_json())

    @translated
    async def current(self, service: str, environment: str) -> dict[str, Deployed]:
        raw = await self.redis.hgetall(self.key.current(service, environment))
        return {dc: Deployed.model_validate_json(v) for dc, v in sorted(raw.items())}

    @translated
    async def rolled_back(self, service: str, environment: str) -> set[str]:
        """Ids of the requests whose releases were undone by a rollback."""
        return set(await self.redis.smembers(self.key.undone(service, environment)))

    @translated
    async def history(self, service: str, environment: str, limit: int = 10) -> list[HistoryEntry]:
        raw = await self.redis.lrange(self.key.history(service, environment), 0, limit - 1)
        return [HistoryEntry.model_validate_json(item) for item in raw]

    @translated
    async def rejections(
        self, service: str, environment: str, limit: int = 10
    ) -> list[HistoryEntry]:
        """Rejected requests of a service+environment, newest first."""
        raw = await self.redis.lrange(self.key.rejected(service, environment), 0, limit - 1)
        return [HistoryEntry.model_validate_json(item) for item in raw]

    @translated
    async def record_external(self, entry: HistoryEntry, deployed: Deployed, mark: Mark) -> bool:
        """A deploy run outside shipbot, into history, ``current`` (where nothing newer runs),
        the audit trail and the delivery metrics, once per ``entry.request_id``; False when
        already recorded."""
        if not await self.redis.set(
            self.key.external(entry.request_id, entry.service, entry.environment),
            1,
            nx=True,
            ex=EXTERNAL_TTL,
        ):
            return False
        current = self.key.current(entry.service, entry.environment)
        history = self.key.history(entry.service, entry.environment)
        detail = f"{entry.version} on {', '.join(t or entry.environment for t in entry.targets)}"
        event = AuditEvent(
            actor=entry.requester,
            event="deployed_outside_shipbot",
            request_id=entry.request_id,
            service=entry.service,
            environment=entry.environment,
            detail=detail,
        )
        when = {"at": deployed.at, "what": deployed.model_dump_json(), "targets": [*entry.targets]}
        await self.scripts[scripts.CURRENT_IF_NEWER.name]({"current": current}, when)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(history, entry.model_dump_json())
            pipe.ltrim(history, 0, HISTORY_KEEP - 1)
            await self._append(event, pipe=pipe)  # to the audit inbox, in Lua (see audit.py)
            await self.add_metrics(entry, mark, tally=True, pipe=pipe)
            await pipe.execute()
        return True


def rejected_entry(r: DeployRequest, rejecter: str, reason: str, now: float) -> HistoryEntry:
    """What /shipbot history shows of a rejected request."""
    return HistoryEntry(
        request_id=r.id, action=r.action, service=r.service, environment=r.environment,
        version=r.version, state=State.REJECTED, requester=r.requester, approvers=r.approvers,
        started_at=0.0, finished_at=now, hotfix=r.hotfix, created_at=r.created_at,
        emergency=r.emergency, rejected_by=rejecter, reject_reason=reason,
    )  # fmt: skip
