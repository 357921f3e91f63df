"""Waiting in a test for something the event loop brings about: one polling helper."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    condition: Callable[[], T | Awaitable[T]], what: str = "the condition", timeout: float = 10.0
) -> T:
    """Check ``condition`` every 10 ms, letting the event loop run, until it gives something
    true (awaited first if it is awaitable, as a Redis read is), and return that. After
    ``timeout`` seconds the test fails, saying ``what`` never happened."""
    try:
        async with asyncio.timeout(timeout):
            while not (found := await _answer(condition())):
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None
    return found


async def _answer(answer: T | Awaitable[T]) -> T:
    return await answer if inspect.isawaitable(answer) else answer
