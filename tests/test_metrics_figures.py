"""The delivery figures against a hand-built history, every expected value worked out by hand
below. Deploys run through the real run path (tests/run_kit.py: a recording deployer, a real
redis-server) at instants set with time-machine, so the aggregates come from the same atomic
step that records a run's end."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine

from bot.catalog.model import Source
from bot.domain.deploys import run_request
from bot.domain.metrics.buckets import ERROR
from bot.domain.metrics.days import day_of
from bot.domain.metrics.figures import summarize
from bot.domain.metrics.levels import Level
from bot.domain.metrics.marks import mark
from bot.domain.metrics.period import Period
from bot.domain.metrics.rebuild import rebuild
from bot.domain.metrics.summary import Summary, Value
from bot.domain.metrics.totals import added
from bot.models import Action, Deployed, HistoryEntry, State
from bot.ports.metrics import Day
from bot.ports.source import Changes, Commit
from tests.fakes import RedisServer
from tests.fakes.recorders import FixedSource
from tests.run_kit import SERVICE, Kit
from tests.test_cli import DEMO, shipbot

HOUR = 3600.0
WEEK = Period(date(2026, 11, 2), date(2026, 11, 8), "2026-11-02..2026-11-08")


def at(day: int, hour: float) -> datetime:
    """An instant of November 2026, UTC (the test catalog's time zone)."""
    return datetime(2026, 11, day, int(hour), int(hour % 1 * 60), tzinfo=UTC)


async def deploy(kit: Kit, rid: str, version: str, when: datetime, **fields: object) -> State:
    """Request ``rid`` and run it to its end, at ``when``."""
    with time_machine.travel(when, tick=True):
        await kit.queued(rid, version, **fields)
        state = await run_request(kit.services, rid, "worker")
    assert state is not None
    return state


async def outside(kit: Kit, version: str, when: datetime) -> None:
    """A deployment GitLab ran alone, recorded as the webhook path records it."""
    ts = when.timestamp()
    entry = HistoryEntry(
        request_id=f"gitlab-{version}", action=Action.DEPLOY, service=SERVICE,
        environment="prod", version=version, state=State.SUCCEEDED, requester="eve (GitLab)",
        approvers=[], targets={"dc-a": "succeeded"}, started_at=ts, finished_at=ts,
        source="gitlab",
    )  # fmt: skip
    deployed = Deployed(version=version, request_id=entry.request_id, requester="eve", at=ts)
    assert await kit.store.record_external(entry, deployed, await mark(kit.services, entry))


async def a_week(kit: Kit) -> None:
    """The week of 2026-11-02 and the day before it:

    - 11-01 23:30 d-0 v1 succeeds (the period before);
    - 11-02 10:00 d-1 v2 succeeds;
    - 11-03 10:00 d-2 v3 fails at dc-b; dc-a is rolled back automatically (a failed change;
      a failure opens at 10:00);
    - 11-03 14:00 d-3 v3.1 succeeds: recovered after 4 h;
    - 11-04 09:00 d-4 v4 --hotfix succeeds: d-3 was followed by a hotfix (a failed change of
      11-03, open since d-3 ended at 14:00): recovered after 19 h; d-4 is rework;
    - 11-05 12:00 r-1 rolls d-4 back: d-4 (11-04) was undone, open since 11-04 09:00:
      recovered after 27 h; a rollback is no deploy;
    - 11-06 08:00 GitLab deploys v5 outside shipbot: a successful deploy;
    - 11-09 00:10 d-5 v6 succeeds (after the period).
    """
    assert State.SUCCEEDED == await deploy(kit, "d-0", "v1", at(1, 23.5))
    assert State.SUCCEEDED == await deploy(kit, "d-1", "v2", at(2, 10))
    kit.deployer.plan["deploy dc-b"] = "fail"
    assert State.FAILED == await deploy(kit, "d-2", "v3", at(3, 10))
    kit.deployer.plan.clear()
    assert State.SUCCEEDED == await deploy(kit, "d-3", "v3.1", at(3, 14))
    assert State.SUCCEEDED == await deploy(kit, "d-4", "v4", at(4, 9), hotfix=True)
    undo = {"undoes": "d-4", "undoes_version": "v4", "ran_before": "dc-a=v4 dc-b=v4 dc-c=v4"}
    back = await deploy(kit, "r-1", "v3.1", at(5, 12), action=Action.ROLLBACK, **undo)
    assert State.SUCCEEDED == back
    await outside(kit, "v5", at(6, 8))
    assert State.SUCCEEDED == await deploy(kit, "d-5", "v6", at(9, 0 + 10 / 60))


def numbers(summary: Summary, *keys: str) -> dict[str, float | None]:
    return {key: summary.figure(key).now.number for key in keys}


def near(expected: float, actual: float | None) -> bool:
    """Within the buckets' stated error."""
    return actual is not None and abs(actual - expected) <= expected * ERROR


async def test_counts_and_rates_of_a_week(kit: Kit) -> None:
    """5 deploys ended (d-1..d-4 and GitLab's), 4 succeeded on 4 days; 3 failed changes
    (d-2 rolled back, d-3 hotfixed, d-4 undone); 1 hotfix."""
    await a_week(kit)
    summary = await summarize(kit.services, SERVICE, WEEK)
    expected = {
        "deploys_per_day": 4 / 7,
        "deploys_per_week": 4.0,
        "deploy_days_per_week": 4.0,
        "change_fail_rate": 3 / 5,
        "rework_rate": 1 / 5,
        "releases_per_month": 4 / 7 * 30,
        "success_rate": 4 / 5,
    }
    assert expected == pytest.approx(numbers(summary, *expected))


async def test_recovery_time_is_the_median_of_the_failures_recovered(kit: Kit) -> None:
    """Recoveries of 4 h, 19 h and 27 h: the median is 19 h (within the buckets' error)."""
    await a_week(kit)
    recovery = (await summarize(kit.services, SERVICE, WEEK)).figure("recovery_time")
    assert near(19 * HOUR, recovery.now.number)
    assert Level.HIGH == recovery.level


async def test_the_period_before_is_compared(kit: Kit) -> None:
    """The week before holds d-0 alone (11-01 23:30): 1/7 a day, so 4/7 is up 300%."""
    await a_week(kit)
    frequency = (await summarize(kit.services, SERVICE, WEEK)).figure("deploys_per_day")
    assert (pytest.approx(1 / 7), pytest.approx(300.0)) == (
        frequency.before.number,
        frequency.change,
    )


async def test_the_weeks_of_the_chart(kit: Kit) -> None:
    """One week bar: 3 succeeded by shipbot and 1 outside, 0 failed, 1 rolled back."""
    await a_week(kit)
    [week] = (await summarize(kit.services, SERVICE, WEEK)).weeks
    assert (date(2026, 11, 2), 4, 0, 1) == (
        week.start,
        week.succeeded,
        week.failed,
        week.rolled_back,
    )


async def test_a_rebuild_from_history_gives_the_same_figures(kit: Kit) -> None:
    """Aggregates cleared and replayed from history read the same summary."""
    await a_week(kit)
    before = await summarize(kit.services, SERVICE, WEEK)
    rebuilt = await rebuild(kit.store, kit.catalog)
    assert (8, before) == (rebuilt.runs, await summarize(kit.services, SERVICE, WEEK))


async def test_an_empty_period_says_no_deploys(kit: Kit) -> None:
    """Nothing ended: every deploy figure says "no deploys", recovery "no failures", and the
    code figures that GitLab is not configured (the kit's service names a source)."""
    summary = await summarize(kit.services, SERVICE, WEEK)
    missing = {f.key: f.now for f in summary.figures if f.key not in ("recovery_time",)}
    assert {"no deploys", "GitLab not configured"} == {v.missing for v in missing.values()}
    assert Value(None, "no failures") == summary.figure("recovery_time").now


async def test_a_service_with_only_failures(kit: Kit) -> None:
    """Two failed deploys: nothing shipped (0 per day, not "no deploys"), every change
    failed, and the failure is not recovered yet."""
    kit.deployer.plan["deploy dc-a"] = "fail"
    for rid, day in (("d-1", 2), ("d-2", 3)):
        assert State.FAILED == await deploy(kit, rid, "v2", at(day, 10))
    summary = await summarize(kit.services, SERVICE, WEEK)
    assert {"deploys_per_day": 0.0, "change_fail_rate": 1.0, "success_rate": 0.0} == numbers(
        summary, "deploys_per_day", "change_fail_rate", "success_rate"
    )
    assert Value(None, "not recovered") == summary.figure("recovery_time").now
    assert Level.LOW == summary.figure("change_fail_rate").level


async def test_lead_time_is_the_median_of_the_commits_shipped(kit: Kit) -> None:
    """d-1 shipped commits 1 h, 2 h and 6 h old (its source says so; the run records their
    lead times as it ends, with the clock stopped): median 2 h, mean 3 h; recorded once."""
    done = at(2, 10)
    commits = [
        Commit(f"{n:040x}", f"change {n}", "Alice", done.timestamp() - n * HOUR) for n in (1, 2, 6)
    ]
    kit.services.source = FixedSource(Changes(tuple(commits), (), "https://git/compare"))
    sourced = kit.catalog.services[SERVICE].model_copy(
        update={"source": Source(gitlab_project="team/multi")}
    )
    services = {**kit.catalog.services, SERVICE: sourced}
    kit.services.catalog = kit.catalog.model_copy(update={"services": services})
    with time_machine.travel(done, tick=False):
        await kit.queued("d-1", "v2")
        assert State.SUCCEEDED == await run_request(kit.services, "d-1", "worker")
    again = await kit.store.record_lead_times(SERVICE, "prod", "d-1", "2026-11-02", [HOUR])
    summary = await summarize(kit.services, SERVICE, WEEK)
    assert False is again
    assert near(2 * HOUR, summary.figure("lead_time").now.number)
    assert pytest.approx(3 * HOUR) == summary.figure("delivery_cycle").now.number
    assert Level.ELITE == summary.figure("lead_time").level


async def test_a_non_production_environment_is_not_counted(kit: Kit) -> None:
    """A deploy to "single" (not named prod, not marked) changes no figure."""
    assert State.SUCCEEDED == await deploy(kit, "d-1", "v2", at(2, 10), environment="single")
    summary = await summarize(kit.services, SERVICE, WEEK)
    assert Value(None, "no deploys") == summary.figure("deploys_per_day").now


async def test_all_services_reads_the_total(kit: Kit) -> None:
    """The all-services card counts the same week, with one line for the service."""
    await a_week(kit)
    summary = await summarize(kit.services, None, WEEK)
    [line] = summary.services
    assert (pytest.approx(3 / 5), 5) == (
        summary.figure("change_fail_rate").now.number,
        line.deploys,
    )


def test_days_are_the_catalog_time_zone_days() -> None:
    """11-01 23:30 UTC is 11-02 07:30 in Shanghai: it counts on 11-02 there."""
    instant = at(1, 23.5).timestamp()
    assert ("2026-11-01", "2026-11-02") == (
        day_of(instant, "UTC"),
        day_of(instant, "Asia/Shanghai"),
    )


async def test_the_rebuild_command_recomputes_from_history(
    kit: Kit, redis_server: RedisServer
) -> None:
    """`shipbot metrics rebuild` against the kit's Redis: the aggregates, deleted, come back
    from the history, and it says how many runs it replayed."""
    await a_week(kit)
    before = await summarize(kit.services, SERVICE, WEEK)
    await kit.store.clear_metrics()
    env = {"REDIS_URL": redis_server.url, "SHIPBOT_CATALOG": str(kit.catalog.path)}
    result = await asyncio.to_thread(shipbot, "metrics", "rebuild", env=env)
    expected = "rebuilt the delivery metrics from 8 runs and 5 deploys' lead times\n"
    assert (0, expected) == (result.returncode, result.stdout)
    assert before == await summarize(kit.services, SERVICE, WEEK)


def test_the_rebuild_command_without_redis_changes_nothing(tmp_path: Path) -> None:
    """Redis unreachable: a clear message, exit 1, no traceback."""
    env = {"REDIS_URL": "redis://127.0.0.1:9/0", "SHIPBOT_CATALOG": str(DEMO)}
    result = shipbot("metrics", "rebuild", env=env)
    assert (1, "") == (result.returncode, result.stdout)
    assert result.stderr.startswith("shipbot: can't reach Redis (")
    assert "Traceback" not in result.stderr


async def rollback_of(kit: Kit, undone: str, version: str) -> dict[str, object]:
    """The fields of a rollback undoing ``undone``, asked for as things run now."""
    current = await kit.store.current(SERVICE, "prod")
    ran = " ".join(f"{target}={d.version}" for target, d in current.items())
    return {
        "action": Action.ROLLBACK,
        "undoes": undone,
        "undoes_version": version,
        "ran_before": ran,
    }


async def test_undoing_a_rollback_is_no_failed_change(kit: Kit) -> None:
    """d-0 and d-1 at 10:00 and 12:00; r-1 undoes d-1 at 14:00 (a failed change, recovered
    in 2 h); r-2 undoes r-1 at 16:00: a rollback is no deploy, so nothing more fails. Two
    deploys ended, one failed change: 50%, one recovery."""
    assert State.SUCCEEDED == await deploy(kit, "d-0", "v1", at(2, 10))
    assert State.SUCCEEDED == await deploy(kit, "d-1", "v2", at(2, 12))
    assert State.SUCCEEDED == await deploy(
        kit, "r-1", "v1", at(2, 14), **await rollback_of(kit, "d-1", "v2")
    )
    assert State.SUCCEEDED == await deploy(
        kit, "r-2", "v2", at(2, 16), **await rollback_of(kit, "r-1", "v1")
    )
    summary = await summarize(kit.services, SERVICE, WEEK)
    recovery = summary.figure("recovery_time").now.number
    assert pytest.approx(0.5) == summary.figure("change_fail_rate").now.number
    assert near(2 * HOUR, recovery)
    assert (
        summary
        == (await rebuild(kit.store, kit.catalog), await summarize(kit.services, SERVICE, WEEK))[1]
    )


async def test_a_hotfix_after_a_failed_deploy_mends_that_failure(kit: Kit) -> None:
    """d-1 succeeds Monday 10:00, d-2 fails Thursday 10:00, d-3 --hotfix succeeds at 11:00:
    the failure is d-2's, recovered in 1 h; d-1 is not a failed change. 1 of 3 failed."""
    assert State.SUCCEEDED == await deploy(kit, "d-1", "v1", at(2, 10))
    kit.deployer.plan["deploy dc-a"] = "fail"
    assert State.FAILED == await deploy(kit, "d-2", "v2", at(5, 10))
    kit.deployer.plan.clear()
    assert State.SUCCEEDED == await deploy(kit, "d-3", "v2.1", at(5, 11), hotfix=True)
    summary = await summarize(kit.services, SERVICE, WEEK)
    assert pytest.approx(1 / 3) == summary.figure("change_fail_rate").now.number
    assert near(HOUR, summary.figure("recovery_time").now.number)


async def test_a_rollback_of_a_deployment_run_outside_shipbot(kit: Kit) -> None:
    """GitLab deploys v5 at 10:00 (no shipbot request on record); r-1 undoes it at 12:00:
    a failed change recovered in 2 h, live and after a rebuild alike."""
    await outside(kit, "v5", at(2, 10))
    assert State.SUCCEEDED == await deploy(
        kit, "r-1", "v4", at(2, 12), **await rollback_of(kit, "gitlab-v5", "v5")
    )
    live = await summarize(kit.services, SERVICE, WEEK)
    await rebuild(kit.store, kit.catalog)
    assert pytest.approx(1.0) == live.figure("change_fail_rate").now.number
    assert near(2 * HOUR, live.figure("recovery_time").now.number)
    assert live == await summarize(kit.services, SERVICE, WEEK)


async def test_a_rebuild_counts_no_lead_time_twice_for_prometheus(kit: Kit) -> None:
    """Lead times recorded once, then a rebuild: the day aggregates and the Prometheus
    histogram read as before."""
    assert State.SUCCEEDED == await deploy(kit, "d-1", "v2", at(2, 10))
    await kit.store.record_lead_times(SERVICE, "prod", "x-1", "2026-11-02", [HOUR, 2 * HOUR])
    before = (await kit.store.tally()).lead_time, await summarize(kit.services, SERVICE, WEEK)
    await rebuild(kit.store, kit.catalog)
    after = (await kit.store.tally()).lead_time, await summarize(kit.services, SERVICE, WEEK)
    assert before == after


async def test_a_period_of_days_and_a_week_reads_both(kit: Kit) -> None:
    """11-01 (a Sunday) to 11-09 (a Monday): a day, a whole week, a day. 7 deploys ended
    (d-0 and d-5 besides the week's 5), 6 succeeded on 6 days, 3 failed changes; the chart
    has the three weeks they fall in."""
    await a_week(kit)
    period = Period(date(2026, 11, 1), date(2026, 11, 9), "2026-11-01..2026-11-09")
    summary = await summarize(kit.services, SERVICE, period)
    expected = {
        "deploys_per_day": 6 / 9,
        "deploy_days_per_week": 6 / 9 * 7,
        "change_fail_rate": 3 / 7,
    }
    assert expected == pytest.approx(numbers(summary, *expected))
    bars = [(w.start.day, w.succeeded, w.rolled_back) for w in summary.weeks]
    assert [(26, 1, 0), (2, 4, 1), (9, 1, 0)] == bars


def test_two_environments_days_add_up_field_by_field() -> None:
    """A service with two production environments: counts and sums added, buckets merged."""
    one = [Day(ended=1, succeeded=1, deploy_days=1, lead={3: 1}, lead_sum=2.0)]
    two = [Day(ended=2, failed=2, lead={3: 2, 4: 1}, lead_sum=1.5, recovery={9: 1})]
    expected = Day(
        ended=3, succeeded=1, deploy_days=1, failed=2, lead={3: 3, 4: 1}, lead_sum=3.5,
        recovery={9: 1},
    )  # fmt: skip
    assert [expected] == added([one, two])
