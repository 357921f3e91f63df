"""The /metrics card from hand-built summaries: every figure's value, change and level in its
text, a missing value as its word, per-service lines, the notes and the levels' source."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Figure, Unit, Value
from handlers.metrics_blocks import metrics_card
from handlers.metrics_units import change_text, duration, shown
from tests.metrics_samples import empty_summary, sample_summary


def card_lines(blocks: list[dict[str, object]]) -> list[str]:
    """The card as the text a screen reader reads, block by block."""
    lines: list[str] = []
    for block in blocks:
        if block["type"] == "context":
            lines += [e["text"] for e in block["elements"]]  # type: ignore[index, union-attr]
        else:
            lines += block["text"]["text"].splitlines()  # type: ignore[index]
    return lines


def test_all_services_card_reads_every_number() -> None:
    """The all-services card: title, period against the one before, DORA figures with their
    level, the team's, one line per service, the notes, and the levels' source."""
    text, blocks = metrics_card(sample_summary())
    expected = [
        "Delivery metrics: all services, 2026-11-03 to 2026-12-02",
        "*2026-11-03 to 2026-12-02* (30d), against 2026-10-04 to 2026-11-02",
        "Production environments: api/prod, web-h5/prod",
        "*DORA*",
        "• *Deployment frequency*: 1.9 per day (was 1.6 per day) · ↑ 19% (better) · elite",
        "• *Change lead time*: 2h 5m (was 3h) · ↓ 31% (better) · elite",
        "• *Change fail rate*: 12.5% (was 10%) · ↑ 25% (worse) · high",
        "• *Failed deployment recovery time*: 3.2 days · new · low",
        "• *Deployment rework rate*: 0% (was 0%) · unchanged",
        "*Team*",
        "• *Releases*: 4 per month (was 1 per month) · ↑ 300% (better)",
        "• *Production deploy success rate*: 100% (was 100%) · unchanged",
        "• *Merges to the default branch*: no source",
        "*Per service*",
        "• `api`: 1 deploy · change fail rate 0% · lead time no source",
        "• `web-h5`: 56 deploys · change fail rate 12.5% · lead time 2h 5m",
        "*Notes*",
        "• GitLab is not configured: merges and commits are not counted.",
        "DORA levels (elite, high, medium, low): DORA, Accelerate State of DevOps Report 2024. "
        "The chart in the thread shows deploys per week by outcome and the weekly median lead "
        "time.",
    ]
    assert expected == card_lines(blocks)
    assert "Delivery metrics: all services, 2026-11-03 to 2026-12-02" == text


def test_one_service_card_has_no_per_service_lines_and_a_digest_lead() -> None:
    """A service's card has no per-service section; a lead line goes above the period."""
    _, blocks = metrics_card(sample_summary("web-h5"), "Metrics digest, scheduled for Mon")
    lines = card_lines(blocks)
    assert "*Per service*" not in lines
    expected = [
        "Delivery metrics: web-h5, 2026-11-03 to 2026-12-02",
        "Metrics digest, scheduled for Mon",
    ]
    assert expected == lines[:2]


def test_empty_summary_is_a_card_without_figure_sections() -> None:
    """Nothing to show: title, period and source, no empty headings."""
    _, blocks = metrics_card(empty_summary())
    assert ["header", "section", "context"] == [b["type"] for b in blocks]


def test_durations_in_human_units() -> None:
    assert ["42s", "5m", "2h", "2h 5m", "1 day", "3.2 days", "12 days"] == [
        duration(s) for s in (42, 300, 7200, 7500, 86400, 276480, 1036800)
    ]


def test_rates_and_shares() -> None:
    assert ["0.033 per day", "1.9 per day", "13 per week", "12.5%", "85%"] == [
        shown(Unit.PER_DAY, 1 / 30),
        shown(Unit.PER_DAY, 1.9),
        shown(Unit.PER_WEEK, 13.2),
        shown(Unit.SHARE, 0.125),
        shown(Unit.PERCENT, 85.0),
    ]


def test_change_is_new_when_there_was_nothing_before() -> None:
    """Before missing or zero, now a number: "new"; now missing: no change at all."""

    def change(now: float | None, before: float | None) -> str:
        figure = Figure("x", "X", Unit.PER_DAY, Value(now), Value(before), True)
        return change_text(figure)

    assert ["new", "new", "", "unchanged", "↓ 50% (worse)"] == [
        change(1.0, None), change(1.0, 0.0), change(None, 1.0), change(0.0, 0.0), change(1.0, 2.0)
    ]  # fmt: skip


def test_a_range_is_not_labelled_twice() -> None:
    """A range's label is its dates: the period line shows them once (against the 62 days
    before)."""
    summary = sample_summary()
    period = Period(date(2026, 10, 1), date(2026, 12, 1), "2026-10-01..2026-12-01")
    _, blocks = metrics_card(replace(summary, period=period, previous=period.previous()))
    assert "*2026-10-01 to 2026-12-01*, against 2026-07-31 to 2026-09-30" == card_lines(blocks)[1]
