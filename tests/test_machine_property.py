"""Random sequences of events on three requests of one lane, against a real redis-server.

After every step: the answer is the one a small model of the rules predicts; the events it
stands for are transitions the table lists, and the stored states are where the table takes
them; the new audit lines are the table's names for those events, by the right actors; the
lane is as the model says; no request is claimed twice and no lane runs two requests.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from redis import asyncio as aioredis

from bot.machine import TABLE, Event, Who, can, next_state, transition
from bot.models import DeployRequest, State, Step
from bot.ports.store import Claim, ClaimOutcome, Finished, FinishOutcome
from bot.store.requests import RedisStore
from tests.fakes import RedisServer
from tests.store_model import IDS, REQUESTER, SWEEPER, WINDOW, WORKERS, Act, Model, events_of
from tests.test_store import finish_record

USERS = (REQUESTER, "U0ALICE", "U0MALLORY")  # the store lets anyone approve (the domain checks)
KINDS = (  # how often each kind of act is drawn
    "create", "approve", "approve", "approve", "reject", "cancel", "cancel", "claim", "claim",
    "claim", "finish", "finish", "finish", "orphan", "expire", "stop", "stop", "tick",
)  # fmt: skip
AUDIT_OF = {row.event: row.audit for row in TABLE}


@st.composite
def acts(draw: st.DrawFn) -> Act:
    kind = draw(st.sampled_from(KINDS))
    who = draw(st.sampled_from(WORKERS if kind in ("claim", "finish") else USERS))
    who = REQUESTER if kind == "create" else who
    delivery = draw(st.sampled_from(("", "", "", "", "click-1")))
    rid = draw(st.sampled_from(("head", "head", *IDS)))  # "head": the lane's, when played
    return Act(kind, rid, who, delivery, draw(st.booleans()))


def request(model: Model, rid: str) -> DeployRequest:
    r = model.reqs[rid]
    return DeployRequest(
        id=rid, service="web-h5", environment="prod", version="v1", requester=REQUESTER,
        channel="C0DEPLOY", catalog_revision="abc", approvals_needed=r.needed,
        created_at=model.clock, expires_at=model.clock + WINDOW, steps=[Step(target="dc-a")],
        undoes=r.undoes,
    )  # fmt: skip


async def perform(store: RedisStore, model: Model, act: Act) -> object:
    r, who, delivery = request(model, act.rid), act.who, act.delivery
    match act.kind:
        case "create":
            return await store.create(r, f"create-{act.rid}")
        case "approve":
            return await store.approve(r, who, delivery, eligible=[0])
        case "reject" | "cancel":
            state = State.REJECTED if act.kind == "reject" else State.CANCELLED
            return await store.end(r, who, state, delivery, queued_too=act.flag)
        case "stop":
            return await store.request_stop(r, who, delivery)
        case "claim":
            return await store.claim(r, who)
        case "finish":
            ended = State.SUCCEEDED if act.flag else State.FAILED
            return await store.finish(finish_record(r, who, ended, "" if act.flag else "broke"))
        case "orphan":
            if act.flag:  # its lease lapsed: the worker is gone
                await store.redis.delete(store.key.lease(r.id))
            return await store.finish_orphan(finish_record(r, SWEEPER, State.FAILED, "lost"))
        case "expire":
            return await store.expire(r, SWEEPER)
    return None


def moved(model: Model, act: Act, result: object) -> list[tuple[str, str, Who | None]]:
    """Move the model's requests by the table for what ``result`` says happened; the audit
    lines that must follow (request id, event name, who may)."""
    audits: list[tuple[str, str, Who | None]] = []
    r = model.reqs[act.rid]
    for event in events_of(act, result):
        row = transition(r.state, event)
        assert row is not None, f"{event} from {r.state}: not in the table"
        r.state = row.next
        audits.append((act.rid, row.audit, row.who))
    if (
        isinstance(result, Finished)
        and (result.outcome, result.state) == (FinishOutcome.FINISHED, State.SUCCEEDED)
        and r.undoes
    ):
        undone = model.reqs.get(r.undoes)
        if undone is not None and can(undone.state, Event.ROLL_BACK):
            undone.state = next_state(undone.state, Event.ROLL_BACK)
        on_record = undone is not None and undone.state is not None
        audits.append((r.undoes if on_record else "", AUDIT_OF[Event.ROLL_BACK], None))
    return audits


async def step(store: RedisStore, model: Model, act: Act) -> None:
    result = await perform(store, model, act)
    assert model.predict(act) == result, act
    expected = moved(model, act, result)
    tally(f"{act.kind} {getattr(result, 'outcome', result)}")  # --hypothesis-show-statistics
    if isinstance(result, Claim) and result.outcome is ClaimOutcome.RUNNING:
        model.ran[act.rid] += 1
        assert model.ran[act.rid] == 1, f"{act.rid} started twice"
    lines = await check(store, model)
    assert [(rid, name) for rid, name, _ in expected] == [
        (line["request_id"], line["event"]) for line in lines
    ]
    for (_, _, who), line in zip(expected, lines, strict=True):
        assert fits(who, line["actor"], act), (who, line, act)


async def check(store: RedisStore, model: Model) -> list[dict[str, str]]:
    """The stored states, lane, running set and history are the model's; returns the audit
    lines added since the last check (from the inbox, where each transition writes its line)."""
    key, lane = store.key, ("web-h5", "prod")
    async with store.redis.pipeline(transaction=False) as pipe:
        for rid in IDS:
            pipe.hget(key.req(rid), "state")
        pipe.lrange(key.lane(*lane), 0, -1)
        pipe.smembers(key.running())
        pipe.llen(key.history(*lane))
        pipe.xrange(key.audit_inbox(), min=f"({model.audited}")  # written, not chained yet
        *states, queue, running, history, audit = await pipe.execute()
    assert {rid: r.state and r.state.value for rid, r in model.reqs.items()} == dict(
        zip(IDS, states, strict=True)
    )
    assert (model.lane, model.finished) == (queue, history)
    assert len(running) <= 1 and running == {
        rid for rid, r in model.reqs.items() if r.state is State.RUNNING
    }
    model.audited = audit[-1][0] if audit else model.audited
    return [line for _, line in audit]


@given(
    needed=st.lists(st.sampled_from((0, 0, 1, 2)), min_size=len(IDS), max_size=len(IDS)),
    undoes=st.sampled_from(("", "r0", "gitlab-5-9")),
    first=st.lists(st.sampled_from(IDS), unique=True, min_size=1, max_size=len(IDS)),
    script=st.lists(acts(), min_size=15, max_size=40),
)
@settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
def test_random_events_follow_the_table(
    redis_server: RedisServer, needed: list[int], undoes: str, first: list[str], script: list[Act]
) -> None:
    """Whatever happens in whatever order, the store moves requests only as the table says,
    audits each move under the table's name, and starts each deploy at most once. (``first``:
    the requests created before anything else happens; others may be created later.)"""
    creates = [Act("create", rid, REQUESTER, "", False) for rid in first]
    model = Model(needed, undoes)
    asyncio.run(play(redis_server.url, model, creates + script))
    assert all(1 == times for times in model.ran.values())  # each step checked much more


async def play(url: str, model: Model, script: list[Act]) -> None:
    client = aioredis.from_url(url, decode_responses=True)  # patient: CI machines are busy
    await client.flushdb()
    store = RedisStore(client, clock=lambda: model.clock)
    try:
        for number, act in enumerate(script):
            rid = (model.head() or IDS[0]) if act.rid == "head" else act.rid
            act = replace(act, rid=rid, delivery=act.delivery or f"fresh-{number}")
            await step(store, model, act)
    finally:
        await client.aclose()


def fits(who: Who | None, actor: str, act: Act) -> bool:
    """The audited actor is one the table's who-may column allows, where the store knows
    (a requester-only, worker-only or sweep-only transition); None: no transition."""
    if who is Who.REQUESTER:
        return actor == REQUESTER == act.who
    if who is Who.WORKER:
        return actor in WORKERS and actor == act.who
    if who is Who.SWEEP:
        return actor == SWEEPER
    return True
