"""The Redis state machine on a real redis-server: atomic transitions, lanes, audit."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.models import Action, AuditEvent, Deployed, DeployRequest, HistoryEntry, State, Step
from bot.ports.metrics import NO_MARK
from bot.ports.store import (
    Approval,
    ApprovalOutcome,
    Claim,
    ClaimOutcome,
    Ended,
    EndOutcome,
    Finished,
    FinishOutcome,
    FinishRecord,
    StoreFailed,
)
from bot.store.keys import Keys
from bot.store.requests import RedisStore, StoreUnavailable, connect
from tests.fakes import RedisServer
from tests.waiting import until


def request(rid: str = "d-1", approvals: int = 2, **extra: object) -> DeployRequest:
    fields: dict[str, object] = {
        "id": rid,
        "service": "web-h5",
        "environment": "prod",
        "version": "v1",
        "requester": "U0DEV",
        "channel": "C0DEPLOY",
        "catalog_revision": "abc",
        "approvals_needed": approvals,
        "expires_at": time.time() + 3600,
        "steps": [Step(target="dc-a")],
        **extra,
    }
    return DeployRequest.model_validate(fields)


def finish_record(r: DeployRequest, worker: str, state: State, failure: str = "") -> FinishRecord:
    """How r's run ended, with the history entry a worker would append."""
    entry = HistoryEntry(
        request_id=r.id, action=r.action, service=r.service, environment=r.environment,
        version=r.version, state=state, requester=r.requester, approvers=r.approvers,
        targets={s.target: s.status.value for s in r.steps}, started_at=r.started_at,
        finished_at=time.time(), failure=failure,
    )  # fmt: skip
    return FinishRecord(r, worker, state, failure, entry)


async def test_new_request_round_trips(store: RedisStore) -> None:
    """What is created is what is read back, pending, with its steps."""
    await store.create(request())
    stored = await store.get("d-1")
    assert stored is not None
    assert (State.PENDING, ["dc-a"], "v1") == (stored.state, stored.targets, stored.version)


async def test_no_approvals_needed_queues_at_once(store: RedisStore) -> None:
    """approvals 0: the request is queued and heads its lane."""
    created = await store.create(request(approvals=0))
    assert created is not None and (State.QUEUED, "d-1", "") == (
        created.state,
        created.head,
        created.ahead,
    )


async def test_a_request_queued_behind_others_names_the_one_just_ahead(store: RedisStore) -> None:
    """Third in its lane: the head is the first, the one just ahead the second."""
    for rid in ("d-1", "d-2"):
        await store.create(request(rid, approvals=0))
    created = await store.create(request("d-3", approvals=0))
    assert created is not None and ("d-1", "d-2") == (created.head, created.ahead)


async def test_creating_a_request_says_which_workers_are_alive(store: RedisStore) -> None:
    """No heartbeat yet: none alive, never seen; after one, one alive, seen just now."""
    before = await store.create(request("d-1"))
    await store.heartbeat("worker:a")
    after = await store.create(request("d-2"))
    assert before is not None and (0, None) == (before.workers.alive, before.workers.last_seen)
    assert after is not None and 1 == after.workers.alive
    assert after.workers.last_seen is not None and time.time() - after.workers.last_seen < 60
    assert after.workers == await store.workers()


async def test_requests_with_no_approval_are_approved_by_shipbot_in_the_audit(
    store: RedisStore,
) -> None:
    """approvals 0: the audit says shipbot approved it because none was needed, not the
    requester."""
    await store.create(request(approvals=0))
    approved = [e for e in await store.audit_trail() if e.event == "approved"]
    assert [("shipbot", "no approval needed")] == [(e.actor, e.detail) for e in approved]


async def test_a_hotfix_is_kept_and_audited_as_one(store: RedisStore) -> None:
    """A request marked --hotfix reads back marked, and its "requested" line says so."""
    await store.create(request("d-1", hotfix=True))
    await store.create(request("d-2"))
    requested = [e.detail for e in reversed(await store.audit_trail()) if e.event == "requested"]
    stored = await store.get("d-1"), await store.get("d-2")
    assert [True, False] == [r is not None and r.hotfix for r in stored]
    assert ["v1 (hotfix)", "v1"] == requested


async def test_quorum_queues_exactly_once_under_concurrency(store: RedisStore) -> None:
    """Twenty simultaneous approvals produce one 'queued' outcome."""
    r = request()
    await store.create(r)
    results = await asyncio.gather(*(store.approve(r, f"U{i}", eligible=[0]) for i in range(20)))
    assert 1 == sum(1 for result in results if result.outcome is ApprovalOutcome.QUEUED)
    assert ["d-1"] == await store.lane_of(r)


async def test_duplicate_approval_is_not_counted(store: RedisStore) -> None:
    """The same approver twice: the second is 'duplicate'."""
    r = request()
    await store.create(r)
    await store.approve(r, "U0ALICE", eligible=[0])
    assert Approval(ApprovalOutcome.DUPLICATE) == await store.approve(r, "U0ALICE", eligible=[0])


async def test_expired_request_cannot_be_approved(store: RedisStore) -> None:
    """Past expires_at, an approval ends the request as expired."""
    r = request(expires_at=time.time() - 1)
    await store.create(r)
    assert Approval(ApprovalOutcome.EXPIRED) == await store.approve(r, "U0ALICE", eligible=[0])
    stored = await store.get("d-1")
    assert stored is not None and State.EXPIRED == stored.state


async def test_only_the_requester_can_cancel(store: RedisStore) -> None:
    """Cancel by someone else is refused; by the requester it ends the request."""
    r = request()
    await store.create(r)
    assert Ended(EndOutcome.NOT_REQUESTER) == await store.end(r, "U0ALICE", State.CANCELLED)
    assert Ended(EndOutcome.ENDED, "", "") == await store.end(r, "U0DEV", State.CANCELLED)


async def test_a_queued_request_is_cancelled_only_when_the_caller_allows_it(
    store: RedisStore,
) -> None:
    """Without queued_too a queued request stays; with it, it leaves its lane, the lane's new
    head is named, and it can no longer be claimed."""
    first, second = request("d-1", approvals=0), request("d-2", approvals=0)
    await store.create(first)
    await store.create(second)
    closed = Ended(EndOutcome.CLOSED, state=State.QUEUED)
    assert closed == await store.end(first, "U0DEV", State.CANCELLED)
    ended = await store.end(first, "U0ALICE", State.CANCELLED, queued_too=True)
    assert (
        Ended(EndOutcome.ENDED, "d-2", "d-2") == ended
    )  # the new head, to start; and who moved up
    cancelled = await store.get("d-1")
    assert cancelled is not None
    assert (State.CANCELLED, "U0ALICE") == (cancelled.state, cancelled.cancelled_by)
    assert ["d-2"] == await store.lane_of(second)
    assert Claim(ClaimOutcome.NOT_QUEUED, state=State.CANCELLED) == await store.claim(first, "w")


async def test_cancelling_a_request_behind_the_head_starts_nothing(store: RedisStore) -> None:
    """d-2 is cancelled while d-1 heads the lane: nothing is to start, and d-3 moved up."""
    for rid in ("d-1", "d-2", "d-3"):
        await store.create(request(rid, approvals=0))
    ended = await store.end(request("d-2"), "U0DEV", State.CANCELLED, queued_too=True)
    assert Ended(EndOutcome.ENDED, "", "d-3") == ended
    assert ["d-1", "d-3"] == await store.lane_of(request("d-1"))


async def test_second_request_waits_behind_the_first(store: RedisStore) -> None:
    """Only the head of a lane may be claimed; finishing it hands over to the next."""
    first, second = request("d-1", approvals=0), request("d-2", approvals=0)
    await store.create(first)
    await store.create(second)
    assert Claim(ClaimOutcome.WAITING, head="d-1") == await store.claim(second, "w")
    assert Claim(ClaimOutcome.RUNNING) == await store.claim(first, "w")
    finished = Finished(FinishOutcome.FINISHED, "d-2", State.SUCCEEDED)
    assert finished == await store.finish(finish_record(first, "w", State.SUCCEEDED))
    waiting = await store.get("d-2")
    assert waiting is not None and "" == waiting.queued_behind


async def test_queued_request_knows_what_it_waits_for(store: RedisStore) -> None:
    """queued_behind names the request ahead in the lane."""
    await store.create(request("d-1", approvals=0))
    await store.create(request("d-2", approvals=0))
    waiting = await store.get("d-2")
    assert waiting is not None and "d-1" == waiting.queued_behind


async def test_a_request_is_claimed_once(store: RedisStore) -> None:
    """A second claim (a duplicate job) is refused."""
    r = request(approvals=0)
    await store.create(r)
    await store.claim(r, "w1")
    assert Claim(ClaimOutcome.NOT_QUEUED, state=State.RUNNING) == await store.claim(r, "w2")


async def test_every_transition_is_audited(store: RedisStore) -> None:
    """requested, approval, approved, queued, running, succeeded: all in the audit stream."""
    r = request(approvals=1)
    await store.create(r)
    await store.approve(r, "U0ALICE", eligible=[0])
    await store.claim(r, "w")
    await store.finish(finish_record(r, "w", State.SUCCEEDED))
    events = [e.event for e in reversed(await store.audit_trail())]
    assert ["requested", "approval", "approved", "queued", "running", "succeeded"] == events


async def test_a_replayed_delivery_changes_nothing(store: RedisStore) -> None:
    """The same delivery key twice: the second create and approve are answered 'replay'."""
    r = request()
    created = await store.create(r, "trigger-1")
    assert created is not None and State.PENDING == created.state
    assert None is await store.create(request("d-2"), "trigger-1")
    assert None is await store.get("d-2")
    assert Approval(ApprovalOutcome.RECORDED, count=1) == await store.approve(
        r, "U0ALICE", "click-1", eligible=[0]
    )
    assert Approval(ApprovalOutcome.REPLAY) == await store.approve(
        r, "U0BOB", "click-1", eligible=[0]
    )


async def test_unreachable_redis_raises_store_unavailable() -> None:
    """A Redis that is not there becomes StoreUnavailable, not a raw redis error."""
    client = connect("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        await RedisStore(client).get("d-1")
    await client.aclose()


async def lapsed(store: RedisStore, request_id: str) -> bool:
    """Whether the lease of ``request_id`` has lapsed (its key is gone)."""
    return not await store.redis.exists(store.key.lease(request_id))


async def test_running_request_with_a_lapsed_lease_is_an_orphan(redis_server: RedisServer) -> None:
    """A lease found lapsed is first only suspect; once it has stayed lapsed for the grace,
    its request is an orphan."""
    client = connect(redis_server.url)
    await client.flushdb()
    store = RedisStore(client, lease_seconds=2, lease_grace=0.5)
    await store.create(request(approvals=0))
    await store.claim(request(), "w")
    assert [] == await store.orphans()
    await until(lambda: lapsed(store, "d-1"), "d-1's lease lapsed")
    assert [] == await store.orphans()  # seen lapsed for the first time
    assert ["d-1"] == await until(store.orphans, "d-1 an orphan")
    await client.aclose()


async def test_a_lease_renewed_within_the_grace_clears_the_suspicion(
    redis_server: RedisServer,
) -> None:
    """A worker that renews after its lease was seen lapsed keeps its deploy."""
    client = connect(redis_server.url)
    await client.flushdb()
    store = RedisStore(client, lease_seconds=2, lease_grace=0.5)
    await store.create(request(approvals=0))
    await store.claim(request(), "w")
    await until(lambda: lapsed(store, "d-1"), "d-1's lease lapsed")
    assert [] == await store.orphans()
    assert await store.renew_lease("d-1", "w")
    assert [] == await store.orphans()
    assert 0 == await client.exists(store.key.suspect("d-1"))
    await client.aclose()


async def test_finished_request_is_no_orphan(store: RedisStore) -> None:
    """Finishing a request drops it from the running set together with its lease."""
    r = request(approvals=0)
    await store.create(r)
    await store.claim(r, "w")
    await store.finish(finish_record(r, "w", State.SUCCEEDED))
    assert [] == await store.orphans()


async def test_news_told_before_listening_is_kept(store: RedisStore) -> None:
    """A webhook's news that arrives while nobody listens wakes the next listener at once."""
    await store.tell("gitlab-pipeline:1:7")
    assert await asyncio.wait_for(store.listen("gitlab-pipeline:1:7", 30), timeout=5)


async def test_news_wakes_a_listener_in_another_connection(
    store: RedisStore, redis_server: RedisServer
) -> None:
    """tell() from one client (the web process) ends listen() in another (the worker)."""
    other = RedisStore(connect(redis_server.url))
    listening = asyncio.create_task(store.listen("gitlab-pipeline:1:8", 30))
    await asyncio.sleep(0.2)
    await other.tell("gitlab-pipeline:1:8")
    assert await asyncio.wait_for(listening, timeout=5)
    await other.redis.aclose()


async def test_listen_without_news_waits_out_its_time(store: RedisStore) -> None:
    """No news: listen returns after its seconds, not before."""
    started = time.monotonic()
    assert not await store.listen("gitlab-pipeline:1:9", 0.3)
    assert time.monotonic() - started >= 0.3


def external(at: float, *targets: str) -> tuple[HistoryEntry, Deployed]:
    """GitLab deployment 9 of project 5: v7 by alice at ``at`` on ``targets``."""
    entry = HistoryEntry(
        request_id="gitlab-5-9",
        action=Action.DEPLOY,
        service="web-h5",
        environment="prod",
        version="v7",
        state=State.SUCCEEDED,
        requester="alice (GitLab)",
        approvers=[],
        targets={t: "succeeded" for t in targets},
        started_at=at,
        finished_at=at,
        source="gitlab",
    )
    return entry, Deployed(version="v7", request_id="gitlab-5-9", requester=entry.requester, at=at)


async def test_external_deployment_is_recorded_once(store: RedisStore) -> None:
    """The same GitLab deployment announced twice lands in history once."""
    entry, deployed = external(1.0, "dc-a")
    recorded = [await store.record_external(entry, deployed, NO_MARK) for _ in range(2)]
    assert [True, False] == recorded
    assert [entry] == await store.history("web-h5", "prod")
    assert {"dc-a": deployed} == await store.current("web-h5", "prod")
    [event] = await store.audit_trail()
    assert ("deployed_outside_shipbot", "v7 on dc-a") == (event.event, event.detail)


async def test_older_external_deployment_does_not_replace_what_runs(store: RedisStore) -> None:
    """A late webhook for an older deployment goes into history but not into `current`."""
    await store.record_deployed(request("d-8", version="v8"), "dc-a")  # now: newer
    entry, older = external(10.0, "dc-a", "dc-b")
    assert await store.record_external(entry, older, NO_MARK)
    running = await store.current("web-h5", "prod")
    assert {"dc-a": "v8", "dc-b": "v7"} == {dc: d.version for dc, d in running.items()}
    assert [entry] == await store.history("web-h5", "prod")


async def test_a_note_is_recorded_once_per_delivery(store: RedisStore) -> None:
    """A refused click that Slack retries is in the audit trail once; another click is not
    swallowed."""
    refused = AuditEvent(actor="U0MALLORY", event="approval_refused", detail="not an approver")
    for delivery in ("click-1", "click-1", "click-2"):
        await store.note(refused, delivery)
    assert 2 == len(await store.audit_trail())


# -- retries and errors: a claim retried as one attempt, an orphan whose worker came back, a
# script stopped by a bug, Redis unreachable ----------------------------------------------


async def test_a_claim_retried_as_the_same_attempt_is_answered_running_again(
    store: RedisStore,
) -> None:
    """A retry whose first answer was lost runs on; another attempt is refused."""
    r = request(approvals=0)
    await store.create(r)
    assert Claim(ClaimOutcome.RUNNING) == await store.claim(r, "w1", "attempt-1")
    assert Claim(ClaimOutcome.RUNNING) == await store.claim(r, "w1", "attempt-1")
    refused = Claim(ClaimOutcome.NOT_QUEUED, state=State.RUNNING)
    assert (refused, refused) == (
        await store.claim(r, "w1", "attempt-2"),
        await store.claim(r, "w2", "attempt-1"),
    )


async def test_the_sweep_ends_no_run_whose_lease_is_held(store: RedisStore) -> None:
    """A worker that renewed its lease after the sweep found it lapsed keeps its run."""
    r = request(approvals=0)
    await store.create(r)
    await store.claim(r, "w1", "attempt-1")
    answer = await store.finish_orphan(finish_record(r, "sweeper", State.FAILED, "lost"))
    assert Finished(FinishOutcome.NOT_RUNNING, "", State.RUNNING) == answer
    await store.redis.delete(Keys("shipbot").lease(r.id))
    answer = await store.finish_orphan(finish_record(r, "sweeper", State.FAILED, "lost"))
    assert Finished(FinishOutcome.FINISHED, "", State.FAILED) == answer


async def test_a_request_id_taken_is_a_failure_that_writes_nothing(store: RedisStore) -> None:
    """A second request with an existing id (a bug) fails and leaves the first as it was."""
    await store.create(request(approvals=1))
    with pytest.raises(StoreFailed):
        await store.create(request(approvals=0, version="v9"), "another-delivery")
    kept = await store.get("d-1")
    assert kept is not None and (State.PENDING, "v1") == (kept.state, kept.version)


async def test_a_key_of_the_wrong_type_is_a_failure_not_an_outage(store: RedisStore) -> None:
    """Redis refusing a command (WRONGTYPE) is StoreFailed: retrying would not mend it."""
    r = request(approvals=0)
    await store.redis.set(Keys("shipbot").lane(r.service, r.environment), "not a list")
    with pytest.raises(StoreFailed):
        await store.create(r)


async def test_redis_unreachable_is_an_outage() -> None:
    """Nothing listening: StoreUnavailable, worth retrying."""
    client = connect("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        await RedisStore(client).get("d-1")
    await client.aclose()
