"""Follow-up work after an ack: its failures are logged, a bug with its traceback."""

from __future__ import annotations

import logging

import pytest

from bot.store.requests import StoreUnavailable
from handlers.background import Background


async def fails_with(error: Exception) -> None:
    raise error


async def test_a_bug_in_follow_up_work_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected error is an ERROR record carrying the exception, for the operator."""
    later = Background()
    later.spawn(fails_with(KeyError("card")))
    await later.drain()
    (record,) = caplog.records
    assert (logging.ERROR, KeyError) == (record.levelno, record.exc_info and record.exc_info[0])


async def test_redis_down_in_follow_up_work_is_one_warning_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis being unreachable is expected: one WARNING line, no traceback."""
    later = Background()
    later.spawn(fails_with(StoreUnavailable("ConnectionError")))
    await later.drain()
    (record,) = caplog.records
    expected = (logging.WARNING, "follow-up work failed: Redis unavailable (ConnectionError)", None)
    assert expected == (record.levelno, record.getMessage(), record.exc_info)
