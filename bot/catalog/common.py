"""Value types the catalog's models share: names, Slack IDs, time zones, cron lines."""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator


def _matching(pattern: str, what: str, hint: str) -> AfterValidator:
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"invalid {what} {value!r}: {hint}")
        return value

    return AfterValidator(check)


NAME_HINT = "use 1-63 of a-z 0-9 . _ -, starting with a letter or digit"
APPROVER_HINT = "expected a Slack user ID (U.../W...) or user-group ID (S...)"
CHANNEL_HINT = "expected a Slack channel ID (C..., G... or D...)"
Name = Annotated[str, _matching(r"[a-z0-9][a-z0-9._-]{0,62}", "name", NAME_HINT)]
ApproverId = Annotated[str, _matching(r"[UWS][A-Z0-9]{2,}", "approver", APPROVER_HINT)]
ChannelId = Annotated[str, _matching(r"[CGD][A-Z0-9]{2,}", "channel", CHANNEL_HINT)]
DIGEST_PERIOD_HINT = "`1d` to `400d`, or `quarter`"
DigestPeriod = Annotated[
    str, _matching(r"(?:[1-9]\d?|[1-3]\d\d|400)d|quarter", "digest period", DIGEST_PERIOD_HINT)
]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)") from None
    return name


def _cron(line: str) -> str:
    if not croniter.is_valid(line) or len(line.split()) != 5:
        raise ValueError(f'invalid cron line {line!r}: five fields, e.g. "0 9 * * MON"')
    return line


TimeZone = Annotated[str, AfterValidator(_zone)]
CronLine = Annotated[str, AfterValidator(_cron)]
