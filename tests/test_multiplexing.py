"""The store's shared connection (bot/store/multiplexing.py), against a real redis-server:
concurrent commands go out together on one connection and each gets its own reply; an error
reply stays with its command; the connection goes back to the pool once every reply is in; a
broken connection, a Redis that does not answer, a restart and a flushed script cache each end
as redis-py's own client would.

Some tests hold a command in flight with a BLPOP on a key the test pushes to (or on nothing):
the multiplexer is not for blocking commands in shipbot, but here that is what keeps a command
visibly waiting in Redis (CLIENT LIST) while Redis itself goes on answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError, DataError, ResponseError, TimeoutError

from bot.models import Created
from bot.store.multiplexing import Multiplexer
from bot.store.requests import RedisStore, connect
from bot.store.scripts import Loaded, Script
from tests.fakes import RedisServer
from tests.test_store import request
from tests.waiting import until

SOCKET_TIMEOUT = 0.5  # seconds: how long a reply may take before the command fails
HELD = 30  # seconds a BLPOP waits at most: far longer than any test takes


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own: some tests restart it or pause it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
async def client(own_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client failing a command whose reply is SOCKET_TIMEOUT late."""
    async with aioredis.from_url(
        own_redis.url, decode_responses=True, socket_timeout=SOCKET_TIMEOUT
    ) as redis_client:
        yield redis_client


@pytest.fixture
async def patient(own_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client that waits for a held BLPOP, and PINGs a connection idle for 1 ms."""
    async with aioredis.from_url(
        own_redis.url, decode_responses=True, socket_timeout=HELD + 5, health_check_interval=0.001
    ) as redis_client:
        yield redis_client


def connections_received(server: RedisServer) -> int:
    """Connections Redis has accepted so far, less the one asking."""
    with server.client() as direct:
        return int(direct.info("stats")["total_connections_received"]) - 1


async def in_flight(server: RedisServer, command: str) -> bool:
    """Whether some connection's current command is ``command`` (CLIENT LIST's cmd)."""
    async with aioredis.Redis(port=server.port, decode_responses=True) as other:
        return any(entry["cmd"] == command for entry in await other.client_list())


async def push(server: RedisServer, key: str) -> None:
    async with aioredis.Redis(port=server.port) as other:
        await other.rpush(key, "go")


def none_in_use(client: aioredis.Redis) -> bool:
    """No connection of the client's pool is out (redis-py keeps those in this set)."""
    return not client.connection_pool._in_use_connections


async def test_concurrent_commands_share_one_connection_and_get_their_own_replies(
    own_redis: RedisServer, client: aioredis.Redis
) -> None:
    """200 commands asked at once: one connection to Redis, and each reply is its own."""
    lines = Multiplexer(client)
    before = connections_received(own_redis)
    replies = await asyncio.gather(*(lines.execute("INCRBY", f"n{i}", i) for i in range(200)))
    assert list(range(200)) == replies
    assert 1 == connections_received(own_redis) - before - 1  # less the counting connection


async def test_an_error_reply_goes_to_its_own_command(client: aioredis.Redis) -> None:
    """A command Redis refuses fails alone; the ones around it get their replies."""
    lines = Multiplexer(client)
    await lines.execute("SET", "word", "not a number")
    replies = await asyncio.gather(
        lines.execute("ECHO", "before"),
        lines.execute("INCR", "word"),
        lines.execute("ECHO", "after"),
        return_exceptions=True,
    )
    assert "before" == replies[0] and "after" == replies[2]
    assert isinstance(replies[1], ResponseError) and "not an integer" in str(replies[1])


async def test_the_connection_goes_back_to_the_pool_once_every_reply_is_in(
    client: aioredis.Redis,
) -> None:
    """After each burst, however its write and its replies interleave, the connection is back
    in the pool: checked again before the next burst, and closed on a switch like any other."""
    lines = Multiplexer(client)
    payload = "x" * 20_000  # large enough that a write may still be draining as replies come
    for burst in range(100):
        stored = await asyncio.gather(*(lines.execute("SET", f"k{i}", payload) for i in range(20)))
        assert ["OK"] * 20 == stored
        assert await until(lambda: none_in_use(client), f"the connection back after burst {burst}")


async def test_a_command_that_cannot_be_packed_fails_alone_and_gives_the_connection_back(
    client: aioredis.Redis,
) -> None:
    """A None argument is refused before anything is sent; the connection is not kept."""
    lines = Multiplexer(client)
    with pytest.raises(DataError):
        await lines.execute("SET", "k", None)  # type: ignore[arg-type]
    await until(lambda: none_in_use(client), "the connection given back")
    assert "next" == await lines.execute("ECHO", "next")


async def test_an_idle_connection_is_checked_before_use_never_while_replies_are_due(
    own_redis: RedisServer, patient: aioredis.Redis
) -> None:
    """The health-check PING (due on every use, here) goes out when a connection is taken
    from the pool, never on a connection with a reply outstanding: a command joining one in
    flight gets its own reply, and so does the one in flight."""
    lines = Multiplexer(patient)
    assert "warm" == await lines.execute("ECHO", "warm")
    held = asyncio.create_task(lines.execute("BLPOP", "wake", str(HELD)))
    await until(lambda: in_flight(own_redis, "blpop"), "BLPOP waiting in Redis")
    joining = asyncio.create_task(lines.execute("ECHO", "joined"))
    await push(own_redis, "wake")
    assert ["wake", "go"] == await held
    assert "joined" == await joining


async def test_a_broken_connection_fails_what_is_in_flight_and_the_next_command_reconnects(
    own_redis: RedisServer, patient: aioredis.Redis
) -> None:
    """The pool closed under a command (as the sentinel watcher closes it on a switch): that
    command fails with a ConnectionError, not silently on a new connection; the next works."""
    lines = Multiplexer(patient)
    held = asyncio.create_task(lines.execute("BLPOP", "nothing", str(HELD)))
    await until(lambda: in_flight(own_redis, "blpop"), "BLPOP waiting in Redis")
    await patient.connection_pool.disconnect()
    with pytest.raises(ConnectionError):
        await held
    assert "back" == await lines.execute("ECHO", "back")


async def test_a_cancelled_command_leaves_the_others_replies_in_order(
    own_redis: RedisServer, patient: aioredis.Redis
) -> None:
    """A caller that stops waiting does not shift the replies of the commands after it."""
    lines = Multiplexer(patient)
    first = asyncio.create_task(lines.execute("BLPOP", "wake", str(HELD)))
    await until(lambda: in_flight(own_redis, "blpop"), "BLPOP waiting in Redis")
    second = asyncio.create_task(lines.execute("ECHO", "second"))
    first.cancel()
    await push(own_redis, "wake")
    assert "second" == await second
    assert "third" == await lines.execute("ECHO", "third")


async def test_a_redis_that_does_not_answer_times_out_every_command_waiting(
    own_redis: RedisServer, client: aioredis.Redis
) -> None:
    """Redis hung for longer than the socket timeout: each command waiting on the connection
    fails with redis-py's TimeoutError; once Redis answers again, so do commands."""
    lines = Multiplexer(client)
    assert "warm" == await lines.execute("ECHO", "warm")
    with own_redis.paused():
        stuck = await asyncio.gather(
            lines.execute("ECHO", "one"), lines.execute("ECHO", "two"), return_exceptions=True
        )
    assert [TimeoutError, TimeoutError] == [type(outcome) for outcome in stuck]
    await _eventually(lambda: lines.execute("ECHO", "awake"), "awake")


async def test_a_restarted_redis_is_reached_again_by_the_next_command(
    own_redis: RedisServer, client: aioredis.Redis
) -> None:
    """Redis restarted between two requests: the second is served, as with redis-py's pool."""
    lines = Multiplexer(client)
    assert "OK" == await lines.execute("SET", "kept", "1")
    await asyncio.to_thread(own_redis.restart)  # the bot's event loop goes on meanwhile
    assert "1" == await lines.execute("GET", "kept")  # the AOF kept it


class Echo(Script):
    def body(self) -> str:
        return "return {K.key, A.value}"


ECHO = Echo("echo", keys=("key",), args=("value",), machine=False)


async def test_a_script_flushed_from_redis_is_loaded_again(client: aioredis.Redis) -> None:
    """A script run on the shared connection after SCRIPT FLUSH (or a Redis restart) is
    loaded again and runs, as redis-py's own scripts do."""
    loaded = Loaded(client, ECHO, Multiplexer(client))
    assert ["k", "v"] == await loaded({"key": "k"}, {"value": "v"})
    await client.script_flush()
    assert ["k", "w"] == await loaded({"key": "k"}, {"value": "w"})


async def test_the_store_runs_concurrent_transitions_on_one_connection(
    own_redis: RedisServer,
) -> None:
    """Fifty /deploys recorded at once by the store: one connection to Redis, every request
    stored with its own answer."""
    async with connect(own_redis.url) as client:
        store = RedisStore(client)
        before = connections_received(own_redis)
        made = await asyncio.gather(*(store.create(request(f"d-{i}")) for i in range(50)))
        assert 1 == connections_received(own_redis) - before - 1  # less the counting one
        assert all(isinstance(created, Created) for created in made)
        stored = await asyncio.gather(*(store.get(f"d-{i}") for i in range(50)))
        assert {f"d-{i}" for i in range(50)} == {r.id for r in stored if r}


async def _eventually(ask: Callable[[], Awaitable[str]], expected: str) -> None:
    """Ask until Redis answers ``expected`` (it may still be catching up)."""

    async def answered() -> bool:
        try:
            return expected == await ask()
        except (TimeoutError, ConnectionError):
            return False

    await until(answered, f"Redis answering {expected!r}")
