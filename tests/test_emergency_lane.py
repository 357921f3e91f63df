"""Break-glass in its lane, on a real redis-server: an approved emergency goes ahead of every
request that is queued but not running (one waiting out a freeze at the head included), so it
is the one to start; what runs is never passed, and what it passed keeps its order behind it."""

from __future__ import annotations

import time

from bot.models import DeployRequest, Rule, State, Step
from bot.ports.store import Approval, ApprovalOutcome, ClaimOutcome
from bot.store.requests import RedisStore


def request(rid: str, approvals: int = 1, emergency: str = "") -> DeployRequest:
    rules = [Rule(approvals=approvals, approvers=["U0ALICE", "U0BOB"])] if approvals else []
    return DeployRequest(
        id=rid, service="web", environment="prod", version="v1", requester="U0DEV",
        channel="C0DEPLOY", catalog_revision="abc", rules=rules, approvals_needed=approvals,
        expires_at=time.time() + 3600, steps=[Step(target="")], emergency=emergency,
    )  # fmt: skip


async def queued(store: RedisStore, rid: str, emergency: str = "") -> Approval:
    r = request(rid, emergency=emergency)
    await store.create(r)
    return await store.approve(r, "U0ALICE", eligible=[0])


async def enqueue_detail(store: RedisStore, rid: str) -> str:
    events = [e for e in await store.audit_trail() if e.request_id == rid]
    return next(e.detail for e in events if e.event == "queued")


async def test_an_emergency_goes_ahead_of_a_head_waiting_out_a_freeze(store: RedisStore) -> None:
    """d-1 heads the lane, not running (a freeze holds it); d-2 waits behind it. The emergency
    d-3 reaches its quorum: it heads the lane, so it is the one to start, and d-1 and d-2 keep
    their order right behind it."""
    await queued(store, "d-1")
    await queued(store, "d-2")
    approval = await queued(store, "d-3", emergency="orders failing")
    assert Approval(ApprovalOutcome.QUEUED, head="d-3", passed="d-1") == approval
    assert ["d-3", "d-1", "d-2"] == await store.lane("web", "prod")
    assert "ahead of d-1 (emergency)" == await enqueue_detail(store, "d-3")
    passed = await store.get("d-1")
    assert passed is not None and "d-3" == passed.queued_behind
    assert ClaimOutcome.WAITING == (await store.claim(request("d-1"), "w1")).outcome
    assert ClaimOutcome.RUNNING == (await store.claim(request("d-3"), "w1")).outcome


async def test_an_emergency_never_passes_what_runs(store: RedisStore) -> None:
    """d-1 runs, d-2 is queued behind it: the emergency goes between them."""
    await queued(store, "d-1")
    await store.claim(request("d-1"), "w1")
    await queued(store, "d-2")
    approval = await queued(store, "d-3", emergency="orders failing")
    assert Approval(ApprovalOutcome.QUEUED, head="d-1", passed="d-2") == approval
    assert ["d-1", "d-3", "d-2"] == await store.lane("web", "prod")
    assert "behind d-1, ahead of d-2 (emergency)" == await enqueue_detail(store, "d-3")


async def test_an_ordinary_request_still_queues_at_the_end(store: RedisStore) -> None:
    await queued(store, "d-1")
    await queued(store, "d-2")
    assert ["d-1", "d-2"] == await store.lane("web", "prod")
    assert "behind d-1" == await enqueue_detail(store, "d-2")


async def test_an_emergency_needing_no_approval_heads_the_lane_when_made(
    store: RedisStore,
) -> None:
    """create.lua queues it at once: ahead of the head that waits, and said to be first."""
    await queued(store, "d-1")
    created = await store.create(request("d-2", approvals=0, emergency="orders failing"))
    assert created is not None and (State.QUEUED, "d-2", "") == (
        created.state,
        created.head,
        created.ahead,
    )
    assert ["d-2", "d-1"] == await store.lane("web", "prod")


async def test_emergencies_start_in_the_order_they_came(store: RedisStore) -> None:
    """d-1 waits at the head; the emergency d-2 passes it; a second emergency d-3 goes behind
    d-2 (still ahead of d-1), so break-glass requests start first, oldest first."""
    await queued(store, "d-1")
    await queued(store, "d-2", emergency="orders failing")
    approval = await queued(store, "d-3", emergency="quotes stale")
    assert Approval(ApprovalOutcome.QUEUED, head="d-2", passed="d-1") == approval
    assert ["d-2", "d-3", "d-1"] == await store.lane("web", "prod")


async def test_a_started_emergency_is_no_longer_waited_for(store: RedisStore) -> None:
    """Once d-2 (an emergency) runs, a later emergency goes right behind it, as before."""
    await queued(store, "d-1")
    await queued(store, "d-2", emergency="orders failing")
    await store.claim(request("d-2"), "w1")
    await queued(store, "d-3", emergency="quotes stale")
    assert ["d-2", "d-3", "d-1"] == await store.lane("web", "prod")
    assert "behind d-2, ahead of d-1 (emergency)" == await enqueue_detail(store, "d-3")
