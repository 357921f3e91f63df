"""When an environment is frozen: exchange sessions (XSHG), the margin, holidays, the known
range, cron and dated windows, and chat freezes; time given or travelled to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import time_machine

from bot.catalog.governance import Freeze, FreezeWindow
from bot.domain.freezes.policy import frozen_at, next_freezes
from bot.domain.freezes.spans import Source
from bot.ports.freezes import ChatFreeze

SHANGHAI = ZoneInfo("Asia/Shanghai")
XSHG = Freeze(calendar="XSHG", margin_minutes=15)


def at(text: str, zone: ZoneInfo = SHANGHAI) -> float:
    """Epoch seconds of a local time, e.g. ``2026-03-02 10:00`` in Shanghai."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone).timestamp()


def frozen(freeze: Freeze, when: str, **kwargs: Any) -> Any:
    return frozen_at(freeze, "UTC", at(when), **kwargs)


def test_a_trading_session_is_frozen_until_the_break_plus_margin() -> None:
    """Monday 2 March 2026, 10:00: XSHG trades; frozen until 11:45 (11:30 + 15 minutes)."""
    found = frozen(XSHG, "2026-03-02 10:00")
    assert (found.reason, found.until, found.source) == (
        "XSHG trading hours",
        at("2026-03-02 11:45"),
        Source.CALENDAR,
    )
    assert not found.beyond_known


def test_the_lunch_break_is_open_inside_the_margin() -> None:
    """The 11:30-13:00 break with a 15-minute margin is open from 11:45 to 12:45."""
    assert frozen(XSHG, "2026-03-02 11:44") is not None
    assert frozen(XSHG, "2026-03-02 11:45") is None
    assert frozen(XSHG, "2026-03-02 12:44") is None
    assert at("2026-03-02 15:15") == frozen(XSHG, "2026-03-02 12:45").until


def test_the_margin_freezes_before_the_open_and_after_the_close() -> None:
    """09:15 to 15:15 with a 15-minute margin; 09:14 and 15:15 are open."""
    assert frozen(XSHG, "2026-03-02 09:14") is None
    assert frozen(XSHG, "2026-03-02 09:15") is not None
    assert frozen(XSHG, "2026-03-02 15:14") is not None
    assert frozen(XSHG, "2026-03-02 15:15") is None


def test_without_a_margin_the_session_is_exact() -> None:
    plain = Freeze(calendar="XSHG")
    assert frozen(plain, "2026-03-02 09:29") is None
    assert at("2026-03-02 11:30") == frozen(plain, "2026-03-02 09:30").until


def test_a_holiday_from_the_library_is_open() -> None:
    """National Day, Thursday 1 October 2026, is in the library's table: no session."""
    assert frozen(XSHG, "2026-10-01 10:00") is None


def test_a_holiday_from_the_catalog_is_open() -> None:
    """Tuesday 3 March 2026 trades, unless the catalog lists it as a holiday."""
    assert frozen(XSHG, "2026-03-03 10:00") is not None
    closed = Freeze(calendar="XSHG", margin_minutes=15, holidays=[date(2026, 3, 3)])
    assert frozen(closed, "2026-03-03 10:00") is None


def test_the_weekend_is_open() -> None:
    assert frozen(XSHG, "2026-03-07 10:00") is None


def test_past_the_known_range_weekday_sessions_count_as_trading() -> None:
    """The library's XSHG table ends 2026-12-31; Tuesday 5 January 2027 at 10:00 counts as
    trading (beyond_known: frozen, the default), and says it is assumed."""
    found = frozen(XSHG, "2027-01-05 10:00")
    assert (found.until, found.beyond_known) == (at("2027-01-05 11:45"), True)
    assert frozen(XSHG, "2027-01-05 12:00") is None  # the regular break still counts


def test_past_the_known_range_open_freezes_nothing() -> None:
    opened = Freeze(calendar="XSHG", margin_minutes=15, beyond_known="open")
    assert frozen(opened, "2027-01-05 10:00") is None


def test_known_until_extends_the_range_with_regular_sessions_and_holidays() -> None:
    """With known_until 2027-12-31 a 2027 weekday trades as known; a listed holiday is open."""
    known = Freeze(
        calendar="XSHG", margin_minutes=15, known_until=date(2027, 12, 31),
        holidays=[date(2027, 2, 15)],
    )  # fmt: skip
    assert frozen(known, "2027-01-05 10:00").beyond_known is False
    assert frozen(known, "2027-02-15 10:00") is None


def test_a_cron_window_across_midnight_in_shanghai() -> None:
    """Every day at 22:00 Shanghai for 10h, in a catalog whose zone is UTC: 03:00 is frozen
    until 08:00 Shanghai time; 21:59 is open."""
    nightly = Freeze(windows=[window(cron="0 22 * * *", duration="10h", timezone="Asia/Shanghai")])
    found = frozen(nightly, "2026-03-07 03:00")
    assert (found.reason, found.until) == ("maintenance", at("2026-03-07 08:00"))
    assert frozen(nightly, "2026-03-06 21:59") is None
    assert frozen(nightly, "2026-03-06 23:30") is not None


def test_a_window_without_its_own_zone_uses_the_catalogs() -> None:
    nightly = Freeze(windows=[window(cron="0 22 * * *", duration="10h")])
    found = frozen_at(nightly, "Asia/Shanghai", at("2026-03-07 03:00"))
    assert found is not None and at("2026-03-07 08:00") == found.until


def test_a_dated_window() -> None:
    """From 2026-12-31 00:00 to 2027-01-04 09:00 Shanghai; open after it until the margin."""
    new_year = Freeze(
        windows=[window(start="2026-12-31 00:00", end="2027-01-04 09:00", timezone="Asia/Shanghai")]
    )
    assert at("2027-01-04 09:00") == frozen(new_year, "2027-01-02 12:00").until
    assert frozen(new_year, "2027-01-04 09:00") is None


def test_freezes_that_follow_on_extend_until() -> None:
    """A weekend window from Friday 15:00 for 67h overlaps the session before it (until 15:15)
    and the one after it (from Monday 09:15): frozen until Monday's break."""
    weekend = Freeze(
        calendar="XSHG", margin_minutes=15,
        windows=[window(cron="0 15 * * FRI", duration="67h", timezone="Asia/Shanghai")],
    )  # fmt: skip
    found = frozen(weekend, "2026-03-06 14:00")
    assert (found.reason, found.until) == ("XSHG trading hours", at("2026-03-09 11:45"))


def test_a_chat_freeze() -> None:
    since, until = at("2026-03-07 09:00"), at("2026-03-07 11:00")
    chat = ChatFreeze("web", "prod", "incident 42", "U0ALICE", since, until)
    found = frozen_at(None, "UTC", at("2026-03-07 10:00"), [chat])
    assert (found.reason, found.who, found.until) == ("incident 42", "U0ALICE", chat.until)
    assert frozen_at(None, "UTC", at("2026-03-07 11:00"), [chat]) is None


def test_next_freezes_lists_the_one_in_force_then_the_next() -> None:
    found = next_freezes(XSHG, "UTC", at("2026-03-02 10:00"), days=2)
    expected = [
        ("2026-03-02 09:15", "2026-03-02 11:45"),
        ("2026-03-02 12:45", "2026-03-02 15:15"),
        ("2026-03-03 09:15", "2026-03-03 11:45"),
        ("2026-03-03 12:45", "2026-03-03 15:15"),
        ("2026-03-04 09:15", "2026-03-04 11:45"),
    ]
    assert [(at(a), at(b)) for a, b in expected] == [(f.since, f.until) for f in found]


def test_the_clock_decides_with_time_machine() -> None:
    """At a travelled-to moment, now is what the policy is asked about."""
    import time

    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI), tick=False):
        assert frozen_at(XSHG, "UTC", time.time()) is not None
    with time_machine.travel(datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI), tick=False):
        assert frozen_at(XSHG, "UTC", time.time()) is None


def window(reason: str = "maintenance", **fields: str) -> FreezeWindow:
    if "start" in fields:
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
    return FreezeWindow.model_validate({"reason": reason, **fields})
