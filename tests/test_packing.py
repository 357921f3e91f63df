"""Commands packed by hiredis (bot/store/packing.py) are the bytes redis-py's own Python
packer sends, and the clients shipbot builds use them."""

from __future__ import annotations

from redis import asyncio as aioredis

from bot.store.connection import RedisTarget
from bot.store.packing import PackedConnection

COMMANDS = [
    ("SET", "key", "välue ✓"),
    ("EVALSHA", "a" * 40, 2, "k1", "k2", 1.5, 0, -3, b"\x00raw"),
    ("SCRIPT LOAD", "return 1"),
    ("HSET", "h", "field", "x" * 10_000),
]


def test_hiredis_packs_each_command_as_redis_py_does() -> None:
    """Strings (UTF-8), bytes, ints, floats, a two-word command and a long value."""
    python, packed = aioredis.Connection(), PackedConnection()
    for command in COMMANDS:
        assert b"".join(python.pack_command(*command)) == b"".join(packed.pack_command(*command))


def test_the_clients_of_a_redis_url_use_it() -> None:
    """The store's client and the job queue's pool."""
    target = RedisTarget.at("redis://127.0.0.1:6379/0")
    for client in (target.client(), target.arq_redis()):
        assert PackedConnection is client.connection_pool.connection_class
