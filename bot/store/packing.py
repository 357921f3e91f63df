"""Commands packed by hiredis, in C, as redis-py's own synchronous client packs them.

redis-py 5's asyncio connections pack every command in Python, argument by argument; for the
ack path's one script call (some 30 keys and arguments) that was a tenth of the bot's CPU per
request. :class:`HiredisPacking` gives a connection class redis-py's ``HiredisRespSerializer``
instead, when hiredis is installed (it is a dependency of arq's ``redis[hiredis]``).
"""

from __future__ import annotations

from typing import Any

from redis import asyncio as aioredis
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

_PACKER = HiredisRespSerializer() if HIREDIS_AVAILABLE else None


class HiredisPacking:
    """Mixed into a redis-py asyncio connection class: its commands packed by hiredis."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if _PACKER is None:
            return super().pack_command(*args)  # type: ignore[misc]
        return _PACKER.pack(*args)


class PackedConnection(HiredisPacking, aioredis.Connection):
    """A TCP connection to Redis whose commands hiredis packs."""
