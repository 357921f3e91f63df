"""Hand-built metrics summaries for the card, chart and console tests (no Redis needed)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.domain.metrics.levels import Level
from bot.domain.metrics.period import Period
from bot.domain.metrics.summary import Figure, ServiceLine, Summary, Unit, Value, WeekBar

PERIOD = Period(date(2026, 11, 3), date(2026, 12, 2), "30d")
NO_DEPLOYS = Value(None, "no deploys")
NO_SOURCE = Value(None, "no source")


def figure(
    key: str,
    label: str,
    unit: Unit,
    now: Value,
    before: Value,
    higher_is_better: bool = True,
    level: Level | None = None,
) -> Figure:
    dora = key in {
        "deploys_per_day",
        "lead_time",
        "change_fail_rate",
        "recovery_time",
        "rework_rate",
    }
    return Figure(key, label, unit, now, before, higher_is_better, dora, level)


FIGURES = (
    figure(
        "deploys_per_day",
        "Deployment frequency",
        Unit.PER_DAY,
        Value(1.9),
        Value(1.6),
        level=Level.ELITE,
    ),
    figure(
        "lead_time", "Change lead time", Unit.SECONDS, Value(7500), Value(10800), False, Level.ELITE
    ),
    figure(
        "change_fail_rate",
        "Change fail rate",
        Unit.SHARE,
        Value(0.125),
        Value(0.1),
        False,
        Level.HIGH,
    ),
    figure(
        "recovery_time",
        "Failed deployment recovery time",
        Unit.SECONDS,
        Value(276480),
        NO_DEPLOYS,
        False,
        Level.LOW,
    ),
    figure("rework_rate", "Deployment rework rate", Unit.SHARE, Value(0.0), Value(0.0), False),
    figure("releases_per_month", "Releases", Unit.PER_MONTH, Value(4), Value(1)),
    figure("success_rate", "Production deploy success rate", Unit.SHARE, Value(1.0), Value(1.0)),
    figure("daily_merges", "Merges to the default branch", Unit.PER_DAY, NO_SOURCE, NO_SOURCE),
)

WEEKS = tuple(
    WeekBar(date(2026, 11, 2) + timedelta(weeks=i), s, f, r, lead)
    for i, (s, f, r, lead) in enumerate(
        [
            (9, 1, 0, 9000.0),
            (12, 0, 1, 7200.0),
            (14, 2, 0, None),
            (11, 0, 0, 5400.0),
            (3, 0, 0, 6000.0),
        ]
    )
)

SERVICES = (
    ServiceLine("api", 1, Value(0.0), NO_SOURCE),
    ServiceLine("web-h5", 56, Value(0.125), Value(7500)),
)


def sample_summary(scope: str = "all services") -> Summary:
    return Summary(
        scope=scope,
        period=PERIOD,
        previous=PERIOD.previous(),
        figures=FIGURES,
        weeks=WEEKS,
        services=SERVICES if scope == "all services" else (),
        environments=("api/prod", "web-h5/prod"),
        notes=("GitLab is not configured: merges and commits are not counted.",),
    )


def empty_summary(scope: str = "web-h5") -> Summary:
    return Summary(scope, PERIOD, PERIOD.previous(), (), (), (), ("web-h5/prod",))
