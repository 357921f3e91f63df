"""DORA's performance levels, from the 2024 Accelerate State of DevOps report (DORA, Google
Cloud; "Software delivery performance levels", https://dora.dev/research/2024/dora-report/).

The report gives, per cluster (elite 19%, high 22%, medium 35%, low 25% of respondents):

=======  ======================  ===========================  ================  =================
level    change lead time        deployment frequency         change fail rate  recovery time
=======  ======================  ===========================  ================  =================
elite    less than one day       on demand (several a day)    5%                less than 1 hour
high     one day to one week     once a day to once a week    20%               less than 1 day
medium   one week to one month   once a week to once a month  10%               less than 1 day
low      one to six months       once a month to 6 months     40%               1 week to 1 month
=======  ======================  ===========================  ================  =================

shipbot reads each column as upper bounds, best level first: a figure gets the first level
whose bound it meets. Two oddities of the report are kept as it states them: the medium
cluster's fail rate (10%) is better than the high cluster's (20%), so 6-10% reads medium and
11-20% high; and high and medium share "less than one day" for recovery, which reads high.
Deployment rework rate, the fifth metric, came with the 2024 report without levels.
"""

from __future__ import annotations

from enum import StrEnum

DAY = 86400.0
WEEK = 7 * DAY
MONTH = 30 * DAY
SOURCE = "DORA, Accelerate State of DevOps Report 2024"


class Level(StrEnum):
    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# (level, bound) pairs, best first; the figure meets a bound when it is at most (at least,
# for deployment frequency) the bound.
LEAD_TIME = ((Level.ELITE, DAY), (Level.HIGH, WEEK), (Level.MEDIUM, MONTH))  # seconds, below
RECOVERY_TIME = ((Level.ELITE, 3600.0), (Level.HIGH, DAY))  # seconds, below
CHANGE_FAIL_RATE = ((Level.ELITE, 0.05), (Level.MEDIUM, 0.10), (Level.HIGH, 0.20))  # at most
DEPLOY_FREQUENCY = ((Level.ELITE, 1.0), (Level.HIGH, 1 / 7), (Level.MEDIUM, 1 / 30))  # per day


def below(value: float, bounds: tuple[tuple[Level, float], ...], *, strict: bool) -> Level:
    """The first level whose bound ``value`` is under (``strict``) or at most; else low."""
    for level, bound in bounds:
        if value < bound or (not strict and value == bound):
            return level
    return Level.LOW


def lead_time_level(seconds: float) -> Level:
    return below(seconds, LEAD_TIME, strict=True)


def recovery_level(seconds: float) -> Level:
    return below(seconds, RECOVERY_TIME, strict=True)


def fail_rate_level(share: float) -> Level:
    return below(share, CHANGE_FAIL_RATE, strict=False)


def frequency_level(per_day: float) -> Level:
    for level, bound in DEPLOY_FREQUENCY:
        if per_day >= bound:
            return level
    return Level.LOW
