"""Leaving a demoted master as soon as the sentinels announce the switch
(https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#pubsub-messages).

After a failover the old master keeps answering as a master until a sentinel reconfigures it
(about 10 s after a SENTINEL FAILOVER). redis-py asks the sentinels where the master is only
when it opens a connection, so a connection opened before the switch keeps writing to the old
master, and those writes are lost when it resyncs from the new one.

So every long-lived process listens on one sentinel for ``+switch-master`` (another sentinel
when that one drops) and, for its master, closes every connection of its clients' pools
(:class:`SwitchingPool`): the next command opens a connection to the master the sentinels now
name. A command caught in flight fails with a ConnectionError (the store's StoreUnavailable)
rather than silently reopening the connection halfway: a MULTI/EXEC whose WATCH went to the
old master is not run unwatched on the new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from redis import asyncio as aioredis
from redis.asyncio.sentinel import SentinelConnectionPool, SentinelManagedConnection
from redis.exceptions import ConnectionError, RedisError

from bot.store.packing import HiredisPacking

SWITCH = "+switch-master"
IDLE_CHECK_SECONDS = 5.0  # with no news this long, make sure the sentinel is still there
RETRY_SECONDS = 1.0  # no sentinel reachable: try them all again after this

Address = tuple[str, int]
log = logging.getLogger(__name__)


class FencedConnection(HiredisPacking, SentinelManagedConnection):
    """A connection to the master that, closed under a command by a switch, does not silently
    reopen to the new master halfway through that command (or between WATCH and EXEC)."""

    fenced = False

    async def connect(self) -> None:
        if self.fenced:
            self.fenced = False
            raise ConnectionError("the Redis master switched during this command")
        await super().connect()


class SwitchingPool(SentinelConnectionPool):
    """The master's pool, told by the watcher when the sentinels switch masters."""

    announced: Address | None = None  # the master the last switch named

    async def switched(self, master: Address) -> None:
        """Close every connection; those in use fail their command rather than reconnect."""
        self.announced = master
        for connection in self._in_use_connections:  # redis-py's pool keeps them here
            if isinstance(connection, FencedConnection):
                connection.fenced = True
        await self.disconnect()

    async def release(self, connection: Any) -> None:
        if isinstance(connection, FencedConnection):
            connection.fenced = False  # the command it was in has ended
        await super().release(connection)


async def follow_switches(
    sentinels: Sequence[Address], master: str, options: dict[str, Any], pools: list[SwitchingPool]
) -> None:
    """Forever: listen to one reachable sentinel, the next when it drops, and switch ``pools``
    whenever the sentinels announce a new address for ``master``."""
    while True:
        for address in sentinels:
            try:
                await _listen(address, master, options, pools)
            except (RedisError, OSError) as error:
                log.warning("sentinel %s:%s: %s", *address, type(error).__name__)
            except Exception:  # a bug must not stop the process following its master for good
                log.exception("following the Redis master through sentinel %s:%s", *address)
        await asyncio.sleep(RETRY_SECONDS)


async def _listen(
    address: Address, master: str, options: dict[str, Any], pools: list[SwitchingPool]
) -> None:
    host, port = address
    sentinel = aioredis.Redis(host=host, port=port, decode_responses=True, **options)
    async with sentinel, sentinel.pubsub() as channel:
        await channel.subscribe(SWITCH)
        await _catch_up(sentinel, master, pools)  # a switch missed while not listening
        while True:
            message = await channel.get_message(True, timeout=IDLE_CHECK_SECONDS)
            if message is None:
                await sentinel.ping()  # a sentinel cut off raises TimeoutError here
            elif switch := _switch_of(str(message["data"]), master):
                log.warning("Redis master %r is now %s:%s", master, *switch)
                await _switch(pools, switch, address)


def _switch_of(data: str, master: str) -> Address | None:
    """``<name> <old-ip> <old-port> <new-ip> <new-port>``: the new address, for ``master``;
    None for another master's switch, or a message not of that shape."""
    parts = data.split()
    if len(parts) != 5 or parts[0] != master or not parts[4].isdigit():
        return None
    return parts[3], int(parts[4])


async def _catch_up(sentinel: aioredis.Redis, master: str, pools: list[SwitchingPool]) -> None:
    """Switch pools whose connections go to another address than the sentinel names."""
    named = await sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", master)
    if not named:
        return
    address = (str(named[0]), int(named[1]))
    stale = [p for p in pools if p.master_address not in (None, address)]
    await _switch(stale, address, None)


async def _switch(pools: list[SwitchingPool], master: Address, heard: Address | None) -> None:
    for pool in pools:
        if heard is not None:
            _ask_first(pool, heard)
        await pool.switched(master)


def _ask_first(pool: SwitchingPool, heard: Address) -> None:
    """The sentinel that announced the switch knows it: ask it first where the master is (the
    others learn it within a couple of seconds). redis-py itself moves to the front whichever
    sentinel answered last."""
    sentinels = pool.sentinel_manager.sentinels
    for i, client in enumerate(sentinels):
        kwargs = client.connection_pool.connection_kwargs
        if (kwargs.get("host"), kwargs.get("port")) == heard:
            sentinels.insert(0, sentinels.pop(i))
            return
