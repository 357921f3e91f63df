"""/metrics in the console: the card printed as text, the chart written to a file whose path
is printed; bad input answered privately, nothing written."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from bot.app.console import build_console
from bot.catalog.model import load_catalog
from bot.catalog.settings import Settings

DEMO = Path(__file__).parent.parent / "examples" / "demo" / "catalog.yaml"


async def typed(line: str, charts: Path) -> str:
    out = io.StringIO()
    console = build_console(Settings(redis_url=""), load_catalog(DEMO), "U0DEV", out, charts)
    await console.handle(line)
    return out.getvalue()


async def test_metrics_prints_the_card_and_where_the_chart_is(tmp_path: Path) -> None:
    """`/metrics web-h5 7d`: the ack, the card's lines, and a PNG at the path printed."""
    output = await typed("/metrics web-h5 7d", tmp_path)
    assert "(only you can see this) Working on it: the delivery metrics of web-h5" in output
    assert "** Delivery metrics: web-h5, 20" in output
    assert "• *Change fail rate*: no deploys" in output
    found = re.search(r"written to (\S+\.png)", output)
    assert found is not None
    chart = Path(found.group(1))
    png = await asyncio.to_thread(chart.read_bytes)
    assert (tmp_path, b"\x89PNG\r\n\x1a\n") == (chart.parent, png[:8])


async def test_bad_period_is_answered_and_nothing_is_written(tmp_path: Path) -> None:
    output = await typed("/metrics web-h5 2026-12-01..2026-10-01", tmp_path)
    assert "The period `2026-12-01..2026-10-01` ends before it starts." in output
    assert [] == await asyncio.to_thread(lambda: list(tmp_path.iterdir()))
