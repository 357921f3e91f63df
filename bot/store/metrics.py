"""The store's delivery metrics: day aggregates and running totals, written by the same atomic
step that records a run's end (finish.lua, via _metrics.lua), read by /metrics and Prometheus.

A day aggregate is a hash of counters (see :class:`bot.ports.metrics.Day`): plain fields, and
``rec:<i>`` / ``lead:<i>`` bucket counts. The running totals (``tally``) hold
``deploys|service|env|action|outcome`` counts and histograms as ``name|service|env|<i>``
counts with ``name_sum|service|env``.
"""

from __future__ import annotations

import json
from typing import Any

from bot.models import HistoryEntry, State, StepStatus
from bot.ports.metrics import (
    ALL,
    DURATION_BOUNDS,
    LEAD_BOUNDS,
    WAIT_BOUNDS,
    Day,
    Histogram,
    LastRelease,
    LeadRecord,
    Mark,
    Tally,
    monday_of,
)
from bot.store import scripts
from bot.store.base import translated
from bot.store.keys import Keys
from bot.store.signals import SignalStore

_COUNTS = (
    "ended", "succeeded", "deploy_days", "failed", "rolled_back", "undone", "hotfixed",
    "change_failed", "hotfix", "rollbacks", "outside", "lead_deploys", "lead_unknown",
)  # fmt: skip
_COUNT_SET = frozenset(_COUNTS)
_HISTOGRAMS = {"duration": DURATION_BOUNDS, "wait": WAIT_BOUNDS, "lead": LEAD_BOUNDS}


def outcome(entry: HistoryEntry) -> str:
    """succeeded | failed | rolled_back (failed, and returned to what ran before)."""
    if entry.state is State.SUCCEEDED:
        return "succeeded"
    back = any(status == StepStatus.ROLLED_BACK for status in entry.targets.values())
    return "rolled_back" if back else "failed"


def metrics_arg(entry: HistoryEntry, mark: Mark, *, tally: bool = True) -> str:
    """The run as _metrics.lua reads it (M)."""
    return json.dumps(
        {
            "service": entry.service,
            "environment": entry.environment,
            "id": entry.request_id,
            "action": entry.action.value,
            "state": outcome(entry),
            "version": entry.version,
            "at": entry.finished_at,
            "started_at": entry.started_at,
            "created_at": entry.created_at,
            "production": mark.production,
            "not_run": entry.not_run,
            "hotfix": entry.hotfix,
            "outside": bool(entry.source),
            "tally": tally,
            "day": mark.day,
            "marks": mark.marks,
            "marks_at": mark.marks_at,
            "why": mark.why,
            "duration_bounds": DURATION_BOUNDS,
            "wait_bounds": WAIT_BOUNDS,
        }
    )


class MetricsStore(SignalStore):
    def metric_keys(self, service: str, environment: str, mark: Mark) -> dict[str, str]:
        """The keys _metrics.lua names, for a run of ``service`` in ``environment``."""
        k = self.key
        keys = _spans(k, service, environment, "day", mark.day)
        keys |= _spans(k, service, environment, "marked_day", mark.marks_day)
        return keys | {
            "mstate": k.metric_state(service, environment),
            "flagged": k.metric_flagged(service, environment),
            "tally": k.tally(),
        }

    async def add_metrics(
        self, entry: HistoryEntry, mark: Mark, *, tally: bool, pipe: Any = None
    ) -> None:
        """One run that ended, outside the finish step (a deployment run outside shipbot; a
        rebuild replaying history, without ``tally``); with ``pipe``, queued there."""
        keys = self.metric_keys(entry.service, entry.environment, mark) | {"approvers": ""}
        args = {"metrics": metrics_arg(entry, mark, tally=tally)}
        await self.scripts[scripts.METRICS.name](keys, args, client=pipe)

    @translated
    async def metric_days(self, service: str, environment: str, days: list[str]) -> list[Day]:
        return await self._aggregates([self.key.metric_day(service, environment, d) for d in days])

    @translated
    async def metric_weeks(self, service: str, environment: str, mondays: list[str]) -> list[Day]:
        keys = [self.key.metric_week(service, environment, monday) for monday in mondays]
        return await self._aggregates(keys)

    async def _aggregates(self, keys: list[str]) -> list[Day]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            raw = await pipe.execute()
        return [_day(fields) for fields in raw]

    @translated
    async def record_lead_times(
        self, service: str, environment: str, request_id: str, day: str, leads: list[float] | None
    ) -> bool:
        return bool(await self.add_lead_times(service, environment, request_id, day, leads))

    async def add_lead_times(
        self,
        service: str,
        environment: str,
        request_id: str,
        day: str,
        leads: list[float] | None,
        pipe: Any = None,
        *,
        replay: bool = False,
    ) -> Any:
        """:meth:`record_lead_times`; with ``pipe``, queued there (a bench filling history);
        ``replay``: a rebuild's, into the day aggregates only (its record is kept as it is, the
        Prometheus histogram counted it when it was recorded)."""
        k = self.key
        keys = _spans(k, service, environment, "day", day) | {
            "records": k.metric_leads(service, environment),
            "tally": k.tally(),
        }
        args = {
            "id": request_id,
            "labels": f"{service}|{environment}",
            "leads": "" if leads is None else json.dumps(leads),
            "record": json.dumps({"day": day, "leads": leads}),
            "bounds": json.dumps(LEAD_BOUNDS),
            "replay": int(replay),
        }
        return await self.scripts[scripts.LEADS.name](keys, args, client=pipe)

    @translated
    async def lead_records(self, service: str, environment: str) -> dict[str, LeadRecord]:
        raw = await self._hash(self.key.metric_leads(service, environment))
        records = {rid: json.loads(record) for rid, record in raw.items()}
        return {rid: LeadRecord(r["day"], r["leads"]) for rid, r in records.items()}

    @translated
    async def replay_lead_times(
        self, service: str, environment: str, request_id: str, day: str, leads: list[float] | None
    ) -> None:
        await self.add_lead_times(service, environment, request_id, day, leads, replay=True)

    @translated
    async def last_release(self, service: str, environment: str) -> LastRelease | None:
        fields = await self._hash(self.key.metric_state(service, environment))
        if "last_id" not in fields:
            return None
        return LastRelease(
            request_id=fields["last_id"],
            day=fields["last_day"],
            at=float(fields["last_at"]),
            version=fields["last_version"],
        )

    @translated
    async def count_slack_error(self, method: str, error: str) -> None:
        await self.redis.execute_command(
            "HINCRBY", self.key.tally(), f"slack_errors|{method}|{error}", 1
        )

    @translated
    async def tally(self) -> Tally:
        raw = await self._hash(self.key.tally())
        deploys: dict[tuple[str, str, str, str], int] = {}
        slack_errors: dict[tuple[str, str], int] = {}
        sums: dict[str, dict[tuple[str, str], float]] = {name: {} for name in _HISTOGRAMS}
        counts: dict[str, dict[tuple[str, str], dict[int, int]]] = {n: {} for n in _HISTOGRAMS}
        for field, value in raw.items():
            name, *labels = field.split("|")
            if name == "deploys" and len(labels) == 4:
                service, env, action, result = labels
                deploys[(service, env, action, result)] = int(value)
            elif name == "slack_errors" and len(labels) == 2:
                slack_errors[(labels[0], labels[1])] = int(value)
            elif name.endswith("_sum") and name[:-4] in sums and len(labels) == 2:
                sums[name[:-4]][(labels[0], labels[1])] = float(value)
            elif name in counts and len(labels) == 3:
                where = (labels[0], labels[1])
                counts[name].setdefault(where, {})[int(labels[2])] = int(value)
        histograms = {
            name: {
                where: _histogram(bounds, counts[name].get(where, {}), sums[name].get(where, 0.0))
                for where in {*counts[name], *sums[name]}
            }
            for name, bounds in _HISTOGRAMS.items()
        }
        return Tally(
            deploys=deploys,
            deploy_duration=histograms["duration"],
            approval_wait=histograms["wait"],
            lead_time=histograms["lead"],
            queue_depth=await self._queue_depth(),
            workers_alive=(await self.workers()).alive,
            slack_errors=slack_errors,
        )

    async def _queue_depth(self) -> int:
        """Requests waiting in their lanes: every lane's length, less the running heads."""
        waiting = 0
        async for key in self.redis.scan_iter(match=self.key.lane("*", "*"), count=500):
            waiting += int(await self.redis.execute_command("LLEN", key))
        running = await self.redis.execute_command("SCARD", self.key.running())
        return max(0, waiting - int(running))

    async def _hash(self, key: str) -> dict[str, str]:
        """HGETALL (redis-py types hgetall as maybe not awaitable)."""
        return dict(await self.redis.execute_command("HGETALL", key))

    @translated
    async def claim_once(self, name: str, ttl_seconds: int) -> bool:
        return bool(await self.redis.set(self.key.once(name), 1, nx=True, ex=ttl_seconds))

    @translated
    async def release_once(self, name: str) -> None:
        await self.redis.delete(self.key.once(name))

    @translated
    async def clear_metrics(self) -> int:
        """Every day aggregate, metrics state and flag set (not the lead records): a rebuild's
        first step. Answers how many keys went."""
        gone = 0
        async for key in self.redis.scan_iter(match=self.key.metrics_pattern(), count=1000):
            if not self.key.is_metric_leads(key):
                gone += int(await self.redis.delete(key))
        return gone


def _spans(k: Keys, service: str, environment: str, name: str, day: str) -> dict[str, str]:
    """``day``'s aggregates and its week's, of the service and of all services, as _metrics.lua
    names them (``day``, ``day_all``, ``week``, ``week_all``; ``marked_day``, ...); '' when
    there is no day."""
    week = name.replace("day", "week")
    if not day:
        return dict.fromkeys((name, f"{name}_all", week, f"{week}_all"), "")
    monday = monday_of(day)
    return {
        name: k.metric_day(service, environment, day),
        f"{name}_all": k.metric_day(ALL, ALL, day),
        week: k.metric_week(service, environment, monday),
        f"{week}_all": k.metric_week(ALL, ALL, monday),
    }


def _day(fields: dict[str, str]) -> Day:
    """One pass over a day's fields: counts, sums, and ``rec:<i>`` / ``lead:<i>`` buckets."""
    counts: dict[str, int] = {}
    sums: dict[str, float] = {}
    buckets: dict[str, dict[int, int]] = {"rec": {}, "lead": {}}
    for name, value in fields.items():
        kind, colon, index = name.partition(":")
        if colon:
            if kind in buckets:
                buckets[kind][int(index)] = int(value)
        elif name.endswith("_sum"):
            sums[name] = float(value)
        elif name in _COUNT_SET:
            counts[name] = int(value)
    return Day(
        **counts,
        recovery=buckets["rec"],
        recovery_sum=sums.get("rec_sum", 0.0),
        lead=buckets["lead"],
        lead_sum=sums.get("lead_sum", 0.0),
    )


def _histogram(bounds: tuple[float, ...], counts: dict[int, int], total: float) -> Histogram:
    return Histogram(bounds, tuple(counts.get(i, 0) for i in range(len(bounds) + 1)), total)
