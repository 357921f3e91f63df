"""Log-spaced buckets for durations, so that a median over any number of days reads a fixed
number of counters, never the samples.

Bucket ``i`` holds durations in [2**(i/8), 2**((i+1)/8)) seconds (eight per doubling; the
first also takes anything shorter, the last anything longer, about a year). A median read
back is the geometric middle of its bucket: within 2**(1/16) - 1, about 4.4%, of a sample in
that bucket, so within 4.4% of the true median (for an even count, of one of the two middle
samples). The Lua side (bot/store/lua/_metrics.lua) computes the same index.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from bot.ports.metrics import BUCKETS as COUNT
from bot.ports.metrics import PER_DOUBLING

ERROR = 2 ** (1 / (2 * PER_DOUBLING)) - 1


def bucket(seconds: float) -> int:
    if seconds < 1:
        return 0
    return min(COUNT - 1, math.floor(PER_DOUBLING * math.log2(seconds)))


def middle(index: int) -> float:
    """The geometric middle of bucket ``index``, in seconds."""
    return float(2 ** ((index + 0.5) / PER_DOUBLING))


def merged(counts: Iterable[Mapping[int, int]]) -> dict[int, int]:
    total: dict[int, int] = {}
    for one in counts:
        for index, n in one.items():
            total[index] = total.get(index, 0) + n
    return total


def median(counts: Mapping[int, int]) -> float | None:
    """The median of the samples counted, as the middle of its bucket; None when none."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank, seen = (n + 1) // 2, 0  # the lower middle sample for an even count
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return middle(index)
    raise AssertionError("unreachable: the ranks add up to n")
