"""The Lua loader: scripts get named keys and arguments, checked on every call."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib import resources

import pytest
from redis import asyncio as aioredis

from bot.store.scripts import CONSTANTS, SCRIPTS, Loaded, Script, ScriptCallError
from tests.fakes import RedisServer


class Inline(Script):
    """A script whose body is the class's BODY, not a file of bot/store/lua/."""

    BODY = "return {K.b, K.a, A.y, A.x, unpack(A.rest)}"

    def body(self) -> str:
        return self.BODY


PROBE = Inline("probe", keys=("b", "a"), args=("y", "x"), rest="rest", machine=False)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


def test_a_call_puts_keys_and_arguments_in_the_declared_order() -> None:
    """Named keys and arguments become KEYS and ARGV in the order the script declares."""
    keys, args = PROBE.call({"a": "ka", "b": "kb"}, {"x": 1, "y": 2, "rest": ["r1", "r2"]})
    assert (["kb", "ka"], [2, 1, "r1", "r2"]) == (keys, args)


@pytest.mark.parametrize(
    ("keys", "args"),
    [
        ({"a": "ka"}, {"x": 1, "y": 2, "rest": []}),  # a key missing
        ({"a": "ka", "b": "kb", "c": "kc"}, {"x": 1, "y": 2, "rest": []}),  # an extra key
        ({"a": "ka", "b": "kb"}, {"x": 1, "rest": []}),  # an argument missing
        ({"a": "ka", "b": "kb"}, {"x": 1, "y": 2, "z": 3, "rest": []}),  # an extra argument
        ({"a": "ka", "b": "kb"}, {"x": 1, "y": 2}),  # the trailing list missing
    ],
)
def test_a_missing_or_unknown_name_is_an_error(
    keys: dict[str, str], args: dict[str, object]
) -> None:
    """A call that does not name exactly the declared keys and arguments is refused."""
    with pytest.raises(ScriptCallError):
        PROBE.call(keys, args)


@pytest.mark.parametrize("names", [("req", "req"), ("Req",), ("end",), ("a-b",)])
def test_a_script_declares_distinct_lua_names(names: tuple[str, ...]) -> None:
    """Repeated names and names Lua cannot use as fields are refused at declaration."""
    with pytest.raises(ValueError):
        Script("bad", keys=names, args=())


async def test_the_script_reads_its_keys_and_arguments_by_name(redis: aioredis.Redis) -> None:
    """In Lua, K.b and A.y are what the call named b and y; A.rest the trailing list."""
    loaded = Loaded(redis, PROBE)
    got = await loaded({"a": "ka", "b": "kb"}, {"x": "1", "y": "2", "rest": ["r1", "r2"]})
    assert ["kb", "ka", "2", "1", "r1", "r2"] == got


def test_constants_come_from_one_place() -> None:
    """Every script gets the constants as Lua locals, from scripts.CONSTANTS."""
    for script in SCRIPTS:
        source = script.source()
        assert all(f"local {name} = {value}\n" in source for name, value in CONSTANTS.items())


def test_every_lua_file_is_a_declared_script() -> None:
    """bot/store/lua/ holds the declared scripts and the two shared parts, nothing else."""
    files = {p.name for p in resources.files("bot.store").joinpath("lua").iterdir()}
    shared = {"_prelude.lua", "_metrics.lua", "_chain.lua"}
    assert {f"{s.name}.lua" for s in SCRIPTS} | shared == files


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_a_script_uses_only_the_names_it_declares(script: Script) -> None:
    """Every K.x and A.x in a script's body is one of its declared keys and arguments."""
    body = script.body()
    assert set(re.findall(r"\bK\.(\w+)", body)) <= set(script.keys)
    assert set(re.findall(r"\bA\.(\w+)", body)) <= {*script.args, script.rest}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_a_script_declares_what_its_prelude_helpers_use(script: Script) -> None:
    """The prelude's helpers read K.req, K.audit_inbox, A.actor and A.now: every script that
    changes requests declares them."""
    if script.machine:
        assert {"req", "audit_inbox"} <= set(script.keys) and {"actor", "now"} <= set(script.args)
