"""Card updates are coalesced: at most one send per interval, and the final state always lands."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from handlers.coalesce import Coalescer
from tests.waiting import until


async def test_burst_becomes_two_sends_and_the_last_state_wins() -> None:
    """Ten quick updates: one now, one after the interval carrying the latest state."""
    sent: list[int] = []
    state = {"n": 0}
    coalescer = Coalescer(interval=0.2)

    async def send() -> None:
        sent.append(state["n"])

    for n in range(10):
        state["n"] = n
        await coalescer.submit("card", send)
    await asyncio.sleep(0.4)
    assert [0, 9] == sent


async def test_final_waits_for_the_interval_then_sends() -> None:
    """A final update right after another is delayed, not dropped."""
    times: list[float] = []
    coalescer = Coalescer(interval=0.2)

    async def send() -> None:
        times.append(time.monotonic())

    await coalescer.submit("card", send)
    await coalescer.submit("card", send, final=True)
    assert 2 == len(times) and times[1] - times[0] >= 0.19


async def test_a_failing_delayed_send_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nobody awaits a delayed send, so its error is logged there, exception included."""
    coalescer = Coalescer(interval=0.05)

    async def send() -> None:
        raise KeyError("blocks")

    await coalescer.submit("card", _nothing)
    await coalescer.submit("card", send)
    await until(lambda: caplog.records, "a log record", timeout=5)
    (record,) = caplog.records
    assert (logging.ERROR, KeyError) == (record.levelno, record.exc_info and record.exc_info[0])


async def _nothing() -> None:
    pass


async def test_a_dropped_send_never_goes_out() -> None:
    """One send now, one waiting for the interval; dropped, the waiting one never goes,
    while another key's still does."""
    sent: list[str] = []
    coalescer = Coalescer(interval=0.1)

    def send(key: str) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            sent.append(key)

        return go

    for key in ("note", "note", "card", "card"):
        await coalescer.submit(key, send(key))
    coalescer.drop("note")
    await until(lambda: sent.count("card") == 2, "the card's waiting send")
    assert ["note", "card", "card"] == sent
