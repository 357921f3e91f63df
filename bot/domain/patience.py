"""How the domain deals with a memory that blips: retry what must happen, log what may not.

Redis going away for a moment must neither lose what a deploy did nor stall a lane. What must
be recorded is retried until Redis answers (:func:`until_answered`); what only tells people is
retried for a while (:func:`patiently`); what merely helps is tried once (:func:`best_effort`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_DELAY, LONGEST_DELAY = 0.05, 1.0  # seconds between attempts, doubling up to the longest
TELLING_ATTEMPTS = 60  # about a minute for what only tells people
PATIENT_ATTEMPTS = 10  # failures said as warnings; past them, as an error every tenth


async def until_answered(call: Callable[[], Awaitable[T]], what: str) -> T:
    """``call()``'s answer, retried while the store is unavailable, however long that is."""
    return await _retried(call, what, attempts=None)


async def patiently(call: Callable[[], Awaitable[T]], what: str) -> T | None:
    """``call()``'s answer, retried while the store is unavailable for about a minute; None
    (logged) when it stays unavailable or anything else goes wrong."""
    try:
        return await _retried(call, what, attempts=TELLING_ATTEMPTS)
    except Exception as error:  # telling people never stops a lane
        log.warning("could not %s: %s", what, type(error).__name__, exc_info=_bug(error))
        return None


async def best_effort(work: Awaitable[object], what: str) -> None:
    """Do it, or log why not: nothing after a deploy's outcome may stop the lane."""
    try:
        await work
    except Exception as error:  # a bug is logged with its traceback; an outage in one line
        log.warning("could not %s: %s", what, type(error).__name__, exc_info=_bug(error))


async def _retried(call: Callable[[], Awaitable[T]], what: str, attempts: int | None) -> T:
    """Retry on StoreUnavailable, ``attempts`` times in all (None: until it answers)."""
    for attempt, delay in enumerate(_delays(), start=1):
        try:
            return await call()
        except StoreUnavailable as error:
            if attempt == attempts:
                raise
            _complain(attempt, "could not %s (%s); trying again in %.2fs", what, error, delay)
        await asyncio.sleep(delay)
    raise AssertionError("the delays never end")  # pragma: no cover


def _complain(attempt: int, message: str, *args: object) -> None:
    """A warning for the first attempts; then an error every tenth: it is no blip any more."""
    if attempt < PATIENT_ATTEMPTS:
        log.warning(message, *args)
    elif attempt % PATIENT_ATTEMPTS == 0:
        log.error(message + " (attempt %d)", *args, attempt)


def _delays() -> Iterator[float]:
    delay = FIRST_DELAY
    while True:
        yield delay
        delay = min(2 * delay, LONGEST_DELAY)


def _bug(error: Exception) -> bool:
    """Not an outage: worth its traceback in the log."""
    return not isinstance(error, StoreUnavailable)
