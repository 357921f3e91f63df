"""The /metrics card, in Block Kit (slack_sdk.models): every number is in its text, so a
person who cannot see the chart reads the same figures.

    Delivery metrics: web-h5, 2026-11-03 to 2026-12-02
    2026-11-03 to 2026-12-02 (30d), against 2026-10-04 to 2026-11-02
    DORA: each figure, its value, the value before, its change and its level
    Team: the team's own figures
    Per service: deploys, change fail rate, lead time (all services only)
    notes; the levels' source
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.metrics.levels import SOURCE
from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Figure, ServiceLine, Summary, Unit
from handlers.metrics_units import change_text, value_text

Rendered = tuple[str, list[dict[str, Any]]]
SECTION_LIMIT = 3000  # characters of one section's text (Slack's limit)


def metrics_card(summary: Summary, lead: str = "") -> Rendered:
    """The card's fallback text and blocks; ``lead`` is a line above the figures (the digest
    says it is the weekly digest)."""
    blocks: list[Block] = [HeaderBlock(text=title(summary)[:150])]
    blocks.append(_text("\n".join(filter(None, [lead, period_line(summary)]))))
    blocks += _sections("*DORA*", [figure_line(f) for f in summary.figures if f.dora])
    blocks += _sections("*Team*", [figure_line(f) for f in summary.figures if not f.dora])
    blocks += _sections("*Per service*", [service_line(s) for s in summary.services])
    if summary.notes:
        blocks += _sections("*Notes*", [f"• {note}" for note in summary.notes])
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer())]))
    return title(summary), [block.to_dict() for block in blocks]


def title(summary: Summary) -> str:
    return f"Delivery metrics: {summary.scope}, {summary.period}"


def period_line(summary: Summary) -> str:
    line = f"*{summary.period}*{labelled(summary.period)}, against {summary.previous}"
    where = ", ".join(summary.environments) or "none in the catalog"
    return f"{line}\nProduction environments: {where}"


def labelled(period: Period) -> str:
    """` (30d)`, ` (quarter)`; nothing for a range of days, which the dates already say."""
    return "" if ".." in period.label else f" ({period.label})"


def figure_line(figure: Figure) -> str:
    """• *Lead time*: 2h 5m (was 3h) · ↓ 31% (better) · elite"""
    parts = [f"• *{figure.label}*: {value_text(figure.unit, figure.now)}"]
    if figure.before.number is not None and figure.now.number is not None:
        parts[0] += f" (was {value_text(figure.unit, figure.before)})"
    parts += [change_text(figure), figure.level.value if figure.level else ""]
    return " · ".join(part for part in parts if part)


def service_line(line: ServiceLine) -> str:
    deploys = f"{line.deploys} deploy{'s' if line.deploys != 1 else ''}"
    fail_rate = value_text(Unit.SHARE, line.change_fail_rate)
    lead = value_text(Unit.SECONDS, line.lead_time)
    return f"• `{line.service}`: {deploys} · change fail rate {fail_rate} · lead time {lead}"


def footer() -> str:
    return (
        f"DORA levels (elite, high, medium, low): {SOURCE}. "
        "The chart in the thread shows deploys per week by outcome and the weekly median "
        "lead time."
    )


def _sections(heading: str, lines: Iterable[str]) -> list[Block]:
    """``heading`` and ``lines`` as sections of at most SECTION_LIMIT characters each."""
    lines = list(lines)
    if not lines:
        return []
    chunks, current = [], heading
    for line in lines:
        if len(current) + 1 + len(line) > SECTION_LIMIT:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:SECTION_LIMIT]
    return [_text(chunk) for chunk in [*chunks, current]]


def _text(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))
