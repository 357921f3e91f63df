"""The /metrics chart: production deploys per week stacked by how they ended (succeeded,
failed, rolled back) and, on a second axis, the weekly median lead time in hours.

Drawn with matplotlib's object API on the Agg canvas (headless, no pyplot state), in a worker
thread: ``await asyncio.to_thread(chart_png, s)``. Matplotlib does not promise thread safety,
so one chart is drawn at a time per process (a chart takes a fraction of a second).
"""

from __future__ import annotations

import io
import threading

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain.metrics.summary import Summary

COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828", "rolled back": "#ef6c00"}
LEAD_COLOUR = "#1565c0"
DPI = 100
_DRAWING = threading.Lock()


def chart_png(summary: Summary) -> bytes:
    """The chart as PNG bytes (an empty period draws empty axes that say so)."""
    with _DRAWING:
        return _drawn(summary)


def _drawn(summary: Summary) -> bytes:
    figure = Figure(figsize=(8, 4), dpi=DPI)
    FigureCanvasAgg(figure)
    deploys = figure.add_subplot()
    weeks = [bar.start.strftime("%b %d") for bar in summary.weeks]
    positions = list(range(len(weeks)))
    bottom = [0] * len(weeks)
    for label, counts in _outcomes(summary).items():
        deploys.bar(positions, counts, bottom=bottom, color=COLOURS[label], label=label)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    deploys.set_ylim(0, max([*bottom, 1]) * 1.4)  # room above the bars for the legend
    deploys.yaxis.set_major_locator(MaxNLocator(integer=True))
    deploys.set_ylabel("production deploys")
    deploys.set_xticks(positions, weeks, rotation=45, ha="right", fontsize=8)
    deploys.set_title(f"{summary.scope}: {summary.period}", fontsize=10)
    _lead_trend(deploys, positions, summary)
    if not weeks:
        deploys.text(0.5, 0.5, "no weeks in this period", ha="center", transform=deploys.transAxes)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _outcomes(summary: Summary) -> dict[str, list[int]]:
    return {
        "succeeded": [bar.succeeded for bar in summary.weeks],
        "failed": [bar.failed for bar in summary.weeks],
        "rolled back": [bar.rolled_back for bar in summary.weeks],
    }


def _lead_trend(deploys: Axes, positions: list[int], summary: Summary) -> None:
    """The weekly median lead time, in hours, on the right-hand axis; weeks without one have
    no point. The legend holds both axes' entries."""
    lead = deploys.twinx()
    medians = [bar.lead_median for bar in summary.weeks]
    points = [(p, m / 3600) for p, m in zip(positions, medians, strict=True) if m is not None]
    if points:
        xs, ys = zip(*points, strict=True)
        lead.plot(xs, ys, color=LEAD_COLOUR, marker="o", label="median lead time (h)")
    lead.set_ylabel("median lead time (hours)")
    lead.set_ylim(bottom=0)
    handles, labels = deploys.get_legend_handles_labels()
    more_handles, more_labels = lead.get_legend_handles_labels()
    deploys.legend(
        handles + more_handles, labels + more_labels, loc="upper left", fontsize=8, ncol=2
    )
