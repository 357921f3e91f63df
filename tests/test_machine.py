"""The state machine's table, and the Lua scripts checked against it: a script changes a state
only through the table's ``move``, names only events the table knows, and the Lua table is
the Python one."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ResponseError

from bot.machine import ENDED, OPEN, TABLE, Event, Who, can, next_state, transition
from bot.models import State
from bot.store import scripts
from bot.store.scripts import AUDIT_KEYS, SCRIPTS, Loaded, Script
from tests.fakes import RedisServer

BODIES = {script.name: script.body() for script in SCRIPTS}
PRELUDE = scripts._read("_prelude.lua")
# The prelude's helpers that take an event, and where in their arguments it is.
EVENT_CALL = re.compile(
    r"\b(?:move|noted)\([^,()]+, '(\w+)'|\b(?:close|can)\((?:[^,()]+, )?'(\w+)'"
)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


def test_the_table_has_one_row_per_state_and_event() -> None:
    """No (state, event) pair is listed twice, so the table says one thing for each."""
    pairs = [(row.state, row.event) for row in TABLE]
    assert len(set(pairs)) == len(pairs)


def test_each_event_has_one_audit_name() -> None:
    """Wherever an event happens, the audit trail calls it the same."""
    assert len({row.event for row in TABLE}) == len({(row.event, row.audit) for row in TABLE})


def test_every_state_is_reached_from_a_new_request() -> None:
    """Following the table from creation reaches every state a request can be in."""
    reached, frontier = set(), {row.next for row in TABLE if row.state is None}
    while frontier:
        reached |= frontier
        frontier = {row.next for row in TABLE if row.state in frontier} - reached
    assert set(State) == reached


def test_nothing_leaves_an_ended_request_but_a_rollback_of_its_release() -> None:
    """An ended request only ever moves again when a rollback undoes its release."""
    leaving = {(row.state, row.event) for row in TABLE if row.state in ENDED}
    assert {(State.SUCCEEDED, Event.ROLL_BACK)} == leaving
    assert set(State) == ENDED | OPEN


def test_helpers_read_the_table() -> None:
    """can, transition and next_state answer from the table; a missing row is an error."""
    assert can(State.QUEUED, Event.CANCEL) and not can(State.RUNNING, Event.CANCEL)
    assert State.RUNNING == next_state(State.RUNNING, Event.STOP)
    row = transition(State.PENDING, Event.CANCEL)
    assert row is not None and (Who.REQUESTER, "cancelled") == (row.who, row.audit)
    with pytest.raises(ValueError):
        next_state(State.FAILED, Event.CLAIM)


def test_no_script_writes_a_state_but_through_the_tables_move() -> None:
    """Outside the prelude's move(), scripts only read the state field."""
    for name, body in BODIES.items():
        for line in body.splitlines():
            if "'state'" in line:
                assert re.search(r"redis\.call\('HGET', K\.\w+, 'state'\)", line), (name, line)
    writes = [line.strip() for line in PRELUDE.splitlines() if "'state'," in line]
    assert ["redis.call('HSET', req, 'state', row.to)"] == writes


def test_scripts_only_audit_through_the_table() -> None:
    """The audit trail's event names come from the table: no script calls audit() itself
    (chain.lua only moves the entries the others wrote to the inbox into the chain)."""
    for name, body in BODIES.items():
        if name == "chain":
            continue
        assert "audit(" not in body and "XADD" not in body, name


def test_every_event_a_script_names_is_in_the_table() -> None:
    """move, close, can and noted are given events of the table, never a made-up one."""
    named = {
        event
        for text in [*BODIES.values(), PRELUDE]
        for match in EVENT_CALL.finditer(text)
        for event in match.groups()
        if event
    }
    assert named and named <= {e.value for e in Event}


def test_the_scripts_cover_every_event() -> None:
    """Each event of the table is caused by some script (by name, or as end.lua's and
    finish.lua's A.event, which the store passes from Event)."""
    named = {m for text in [*BODIES.values(), PRELUDE] for m in re.findall(r"'(\w+)'", text)}
    given_by_the_store = {Event.REJECT, Event.CANCEL, Event.SUCCEED, Event.FAIL, Event.VOID}
    assert set(Event) - given_by_the_store <= named


async def test_the_lua_table_is_the_python_table(redis: aioredis.Redis) -> None:
    """MOVES, as Redis reads the generated Lua, holds exactly the rows of bot.machine.TABLE."""
    source = scripts.lua_table() + "\nreturn cjson.encode({moves = MOVES, audit = AUDIT})"
    lua = json.loads(await redis.eval(source, 0))
    rows = {
        (state or None, event, row["to"], frozenset(row["who"]), row["audit"])
        for state, events in lua["moves"].items()
        for event, row in events.items()
    }
    expected = {
        (t.state, t.event.value, t.next.value, frozenset(w.name.lower() for w in t.who), t.audit)
        for t in TABLE
    }
    assert expected == {(State(s) if s else None, *rest) for s, *rest in rows}
    assert {t.event.value: t.audit for t in TABLE} == lua["audit"]


class Probe(Script):
    """A script whose body is given here, not read from bot/store/lua/."""

    def body(self) -> str:
        return "move(K.req, A.event, '')\nreturn redis.call('HGET', K.req, 'state')"


async def test_a_move_the_table_does_not_list_fails_and_writes_no_state(
    redis: aioredis.Redis,
) -> None:
    """Claiming a pending request is not in the table: the script stops with an error and the
    request stays pending, unaudited; a listed move goes through."""
    probe = Loaded(redis, Probe("probe", keys=("req", *AUDIT_KEYS), args=("actor", "now", "event")))
    await redis.hset("req:1", mapping={"id": "1", "state": "pending"})
    chain = {"audit_inbox": "audit:inbox"}
    keys, args = {"req": "req:1", **chain}, {"actor": "U0X", "now": 1}
    with pytest.raises(ResponseError, match="no transition claim from"):
        await probe(keys, {**args, "event": "claim"})
    assert ("pending", 0) == (await redis.hget("req:1", "state"), await redis.xlen("audit:inbox"))
    assert "cancelled" == await probe(keys, {**args, "event": "cancel"})
