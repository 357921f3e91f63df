"""RedisTarget.watch: the clients leave the old master as soon as the sentinels announce a
switch, against a real master, replica and three sentinels. Without it, after a SENTINEL
FAILOVER a connection opened before the switch kept writing to the old master, which answers
as a master for about 10 s more, and those writes were lost when it became a replica."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
import redis
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError

from bot.store.connection import RedisTarget
from bot.store.sentinel_watch import SwitchingPool, _switch_of
from tests.sentinel import MASTER, Node, SentinelCluster

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    with SentinelCluster(tmp_path_factory.mktemp("switch")) as running:
        yield running


def through(cluster: SentinelCluster) -> RedisTarget:
    return RedisTarget(sentinels=[("127.0.0.1", s.port) for s in cluster.sentinels], master=MASTER)


def value_on(node: Node, key: str) -> str | None:
    with redis.Redis(port=node.port, socket_timeout=1, decode_responses=True) as client:
        value = client.get(key)
    return None if value is None else str(value)


async def eventually(
    condition: Callable[[], Awaitable[object]], what: str, timeout: float = 10.0
) -> None:
    """Poll ``condition`` (50 ms apart, the event loop free meanwhile) for up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.05)


async def switch(cluster: SentinelCluster) -> tuple[Node, Node]:
    """SENTINEL FAILOVER; the old and new masters once every sentinel names the new one (the
    old one still answers as a master for a while)."""
    old = await asyncio.to_thread(cluster.master)
    await asyncio.to_thread(cluster.sentinels[0].ask, "SENTINEL", "FAILOVER", MASTER)
    return old, await asyncio.to_thread(cluster.wait_new_master, old)


async def settle(cluster: SentinelCluster, old: Node) -> None:
    """Until the old master is the new one's linked replica, ready for the next failover."""
    await asyncio.to_thread(lambda: cluster.wait_new_master(old) and None)
    await eventually(lambda: asyncio.to_thread(old.linked), "the old master resynced", 60)


def announced(client: aioredis.Redis, new: Node) -> Callable[[], Awaitable[bool]]:
    pool = client.connection_pool
    assert isinstance(pool, SwitchingPool)

    async def heard() -> bool:
        return pool.announced == ("127.0.0.1", new.port)

    return heard


async def test_a_write_after_the_switch_lands_on_the_new_master(cluster: SentinelCluster) -> None:
    """A client with a warm connection, SENTINEL FAILOVER: once the switch is announced, a write
    through the same client is on the new master while the old one still says it is master
    (without the watcher it went to the old master over the warm connection, and was lost)."""
    target = through(cluster)
    client = target.client()
    try:
        async with target.watch(client):
            await client.set("warm", "1")
            old, new = await switch(cluster)

            async def landed() -> bool:
                try:
                    await client.set("after", "1")
                except ConnectionError:  # the write met the switch: told, not lost
                    return False
                return "1" == await asyncio.to_thread(value_on, new, "after")

            await eventually(landed, "a write through the warm client lands on the new master")
            assert "master" == await asyncio.to_thread(old.role)
            await settle(cluster, old)
    finally:
        await client.aclose()


async def test_a_transaction_watching_across_the_switch_fails_rather_than_run_unwatched(
    cluster: SentinelCluster,
) -> None:
    """WATCH before the switch, EXEC after it is announced: a ConnectionError (the store's
    StoreUnavailable), and the write is nowhere; not an EXEC run without its WATCH on a
    connection silently reopened to the new master. The next attempt is on the new master."""
    target = through(cluster)
    client = target.client()
    try:
        async with target.watch(client), client.pipeline(transaction=True) as pipe:
            await pipe.watch("guarded")
            old, new = await switch(cluster)
            await eventually(announced(client, new), "the watcher heard the switch")
            pipe.multi()
            pipe.set("guarded", "first")
            with pytest.raises(ConnectionError):
                await pipe.execute()
            nowhere = [await asyncio.to_thread(value_on, node, "guarded") for node in (old, new)]
            assert [None, None] == nowhere
            await pipe.watch("guarded")
            pipe.multi()
            pipe.set("guarded", "again")
            await pipe.execute()
            assert "again" == await asyncio.to_thread(value_on, new, "guarded")
            await settle(cluster, old)
    finally:
        await client.aclose()


async def test_the_watcher_listens_to_another_sentinel_when_its_own_is_down(
    cluster: SentinelCluster,
) -> None:
    """The first sentinel down before and during the switch: the watcher hears it from
    another one, and the warm client follows."""
    target = through(cluster)
    client = target.client()
    first = cluster.sentinels[0]
    try:
        async with target.watch(client):
            await client.set("warm", "1")
            old = await asyncio.to_thread(cluster.master)
            first.stop()
            await asyncio.to_thread(cluster.sentinels[1].ask, "SENTINEL", "FAILOVER", MASTER)
            new = await asyncio.to_thread(cluster.wait_new_master, old)
            await eventually(announced(client, new), "the watcher heard the switch")
            await client.set("while-one-sentinel-is-down", "1")
            assert "1" == await asyncio.to_thread(value_on, new, "while-one-sentinel-is-down")
    finally:
        await client.aclose()
        first.start()


def test_only_a_well_formed_switch_of_our_master_is_followed() -> None:
    """The announcement's new address for our master; another master's switch, or a message
    not of the documented shape, is nothing to follow (and never an error)."""
    assert ("10.0.0.2", 6380) == _switch_of("mymaster 10.0.0.1 6379 10.0.0.2 6380", "mymaster")
    for data in ("other 10.0.0.1 6379 10.0.0.2 6380", "mymaster 10.0.0.2", "", "mymaster a b c d"):
        assert _switch_of(data, "mymaster") is None
