"""The /metrics chart is a real PNG, drawn headless, with or without weeks to draw."""

from __future__ import annotations

import asyncio
import struct

from handlers.metrics_chart import chart_png
from tests.metrics_samples import empty_summary, sample_summary

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def size_of(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which follows the signature."""
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_chart_is_a_png_of_800_by_400() -> None:
    """Five weeks drawn in a worker thread: a PNG signature, 800x400 pixels, tens of kB."""
    png = await asyncio.to_thread(chart_png, sample_summary())
    assert (PNG_SIGNATURE, (800, 400)) == (png[:8], size_of(png))
    assert len(png) > 10_000


def test_an_empty_period_still_draws() -> None:
    """No weeks: still a PNG (its axes say there is nothing)."""
    assert PNG_SIGNATURE == chart_png(empty_summary())[:8]
