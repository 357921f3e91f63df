"""One connection shared by concurrent commands: what many requests ask of Redis in the same
turn of the event loop goes out in one write, and their replies come back in order on the same
connection (Redis answers a connection's commands in the order it got them).

redis-py gives each command a connection of its own for the time it runs, and has no
auto-pipelining (https://github.com/redis/redis-py/issues/3767): twenty concurrent /deploys are
twenty connections, each with its own write, read, timers and event-loop wake-ups. That was
half of the bot's CPU per request on the ack path (bench/ack_path.py). The store runs its Lua
scripts (the ack path's one Redis call, and every transition) through a :class:`Multiplexer`
instead; everything else still uses redis-py's own pool.

It keeps redis-py's connection and its guarantees:

- the connection comes from the client's pool, so it is made, authenticated and (with
  Sentinel) pointed at the master exactly as the client's others are, and the sentinel watcher
  closes it like them (bot/store/sentinel_watch.py); it is held only while commands are in
  flight on it, and given back once every reply is in;
- a reply that does not come within the connection's socket timeout fails every command in
  flight with redis-py's TimeoutError, and a broken connection fails them with its
  ConnectionError: the store answers "can't reach its state store", as it does for redis-py's
  own. Nothing is retried: a command in flight may or may not have run, and the transitions
  are safe to see again (a Slack delivery is marked seen, a claim names its attempt, a finish
  is idempotent);
- a connection taken from the pool is checked as redis-py checks it for any command, and
  PINGed when idle for its ``health_check_interval``, before anything is in flight on it;
- an error reply (a NOSCRIPT, a script's error) goes to the command that caused it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError, RedisError, ResponseError, TimeoutError
from redis.typing import EncodableT


class Multiplexer:
    """``await lines.execute(*command)`` for commands that never block the connection (no
    BLPOP, no SUBSCRIBE, no MULTI), which would hold up every command behind them: a script
    run, a plain read or write."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.pool = redis.connection_pool
        self._line: _Line | None = None
        self._opening = asyncio.Lock()

    async def execute(self, *args: EncodableT) -> Any:
        line = self._line
        if line is None or line.closed:
            line = await self._open()
        try:
            reply = line.send(args)
        except Exception:  # it could not be packed (a DataError): nothing was sent
            await line.settle()
            raise
        return await reply

    async def _open(self) -> _Line:
        async with self._opening:
            if self._line is None or self._line.closed:
                self._line = _Line(self.pool, await _checked_out(self.pool))
            return self._line


async def _checked_out(pool: aioredis.ConnectionPool) -> AbstractConnection:
    """A connection as redis-py gives one to any command (connected, checked, to the master
    the sentinels name), and PINGed when idle for its health-check interval: here, before
    anything is in flight on it, so that the PING's reply is the only one awaited."""
    connection = await pool.get_connection()
    try:
        await connection.check_health()
    except BaseException:
        await pool.release(connection)
        raise
    return connection


class _Line:
    """A connection of the pool, held while commands are in flight on it; given back to the
    pool once every reply is in, or closed and given back when it breaks."""

    def __init__(self, pool: aioredis.ConnectionPool, connection: AbstractConnection) -> None:
        self.pool, self.connection = pool, connection
        self.closed = False
        self._outbox: list[tuple[list[bytes], asyncio.Future[Any]]] = []
        self._sent: deque[asyncio.Future[Any]] = deque()  # written, in order, awaiting replies
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    def send(self, command: tuple[EncodableT, ...]) -> asyncio.Future[Any]:
        packed = self.connection.pack_command(*command)
        reply = asyncio.get_running_loop().create_future()
        self._outbox.append((packed, reply))
        if self._writer is None:  # one write for everything asked until the writer runs
            self._writer = asyncio.create_task(self._write())
        return reply

    async def settle(self) -> None:
        """Give the connection back once nothing is queued, written or being read."""
        if self.closed or self._outbox or self._sent or self._writer or self._reader:
            return
        self.closed = True
        await self._give_back()

    async def _give_back(self) -> None:
        with contextlib.suppress(KeyError, ValueError):  # the pool was reset meanwhile
            await self.pool.release(self.connection)

    async def _write(self) -> None:
        try:
            while self._outbox and not self.closed:
                batch, self._outbox = self._outbox, []
                self._sent.extend(reply for _, reply in batch)
                if self._reader is None:
                    self._reader = asyncio.create_task(self._read())
                packed = [chunk for command, _ in batch for chunk in command]
                # Never reconnect here: a connection closed under a command (a switch of
                # masters) fails what it carries, as redis-py's own connections do.
                if not self.connection.is_connected:
                    raise ConnectionError("the connection to Redis was closed")
                await self.connection.send_packed_command(packed, check_health=False)
        except BaseException as error:  # noqa: BLE001 - each waiting command is told
            await self._break(error)
            return
        self._writer = None
        await self.settle()

    async def _read(self) -> None:
        try:
            while self._sent:
                try:
                    reply: Any = await self.connection.read_response()
                except ResponseError as error:  # Redis answered this command with an error
                    reply = error
                waiting = self._sent.popleft()
                if waiting.done():  # its caller was cancelled
                    continue
                if isinstance(reply, ResponseError):
                    waiting.set_exception(reply)
                else:
                    waiting.set_result(reply)
        except BaseException as error:  # noqa: BLE001 - each waiting command is told
            await self._break(error)
            return
        self._reader = None
        await self.settle()

    async def _break(self, error: BaseException) -> None:
        """Fail every command not yet answered; give the connection back, closed, once the
        other task has stopped using it."""
        if self.closed:
            return
        self.closed = True
        kind = type(error) if isinstance(error, (ConnectionError, TimeoutError)) else None
        why = str(error) if kind else f"the connection to Redis broke: {type(error).__name__}"
        waiting = [*self._sent, *(reply for _, reply in self._outbox)]
        self._sent.clear()
        self._outbox.clear()
        for reply in waiting:
            if not reply.done():
                reply.set_exception((kind or ConnectionError)(why))
        others = [
            task
            for task in (self._writer, self._reader)
            if task is not None and task is not asyncio.current_task()
        ]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others)
        with contextlib.suppress(RedisError, OSError):
            await self.connection.disconnect(nowait=True)
        await self._give_back()
        if isinstance(error, asyncio.CancelledError):
            raise error
