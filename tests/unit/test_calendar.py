from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain.calendar import (
    NEW_YORK,
    Session,
    holiday_name,
    is_open,
    next_session,
    previous_session,
    session_on,
    window_on,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ny(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


def session(day: date) -> Session:
    found = session_on(day)
    assert found is not None, f"{day} should be a session"
    return found


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2024, 1, 1), "New Year's Day"),
        (date(2024, 1, 15), "Martin Luther King Jr. Day"),
        (date(2024, 2, 19), "Washington's Birthday"),
        (date(2024, 3, 29), "Good Friday"),
        (date(2024, 5, 27), "Memorial Day"),
        (date(2024, 6, 19), "Juneteenth National Independence Day"),
        (date(2024, 7, 4), "Independence Day"),
        (date(2024, 9, 2), "Labor Day"),
        (date(2024, 11, 28), "Thanksgiving Day"),
        (date(2024, 12, 25), "Christmas Day"),
        (date(2025, 1, 9), "National Day of Mourning for President Jimmy Carter"),
        (date(2025, 4, 18), "Good Friday"),
        (date(2025, 11, 27), "Thanksgiving Day"),
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 7, 3), "Independence Day (observed)"),
        (date(2027, 6, 18), "Juneteenth National Independence Day (observed)"),
        (date(2027, 12, 24), "Christmas Day (observed)"),
        (date(2022, 12, 26), "Christmas Day (observed)"),
        (date(2022, 6, 20), "Juneteenth National Independence Day (observed)"),
        (date(2023, 1, 2), "New Year's Day (observed)"),
        (date(2001, 9, 11), "September 11 attacks"),
        (date(2012, 10, 30), "Hurricane Sandy"),
        (date(2018, 12, 5), "National Day of Mourning for President George H. W. Bush"),
    ],
)
def test_known_holidays(day: date, name: str) -> None:
    assert holiday_name(day) == name
    assert session_on(day) is None


@pytest.mark.parametrize(
    "day",
    [
        date(2021, 12, 31),  # New Year's Day 2022 is a Saturday and is not observed
        date(2027, 12, 31),  # likewise for 2028
        date(2021, 6, 18),  # Juneteenth is a market holiday only from 2022
        date(2024, 11, 29),  # day after Thanksgiving: an early close, not a holiday
        date(2024, 12, 24),
        date(2026, 7, 2),
    ],
)
def test_not_holidays(day: date) -> None:
    assert holiday_name(day) is None
    assert session_on(day) is not None


def test_weekends_are_not_sessions_and_have_no_holiday_name() -> None:
    assert session_on(date(2024, 11, 2)) is None
    assert session_on(date(2024, 11, 3)) is None
    assert holiday_name(date(2026, 7, 4)) is None  # Saturday; the closure is on the Friday


def test_regular_session_times() -> None:
    s = session(date(2024, 11, 1))
    assert s == Session(date(2024, 11, 1), ny(2024, 11, 1, 9, 30), ny(2024, 11, 1, 16), False)
    assert s.open.tzinfo is NEW_YORK


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 7, 3),
        date(2024, 11, 29),
        date(2024, 12, 24),
        date(2025, 7, 3),
        date(2025, 11, 28),
        date(2025, 12, 24),
        date(2023, 7, 3),  # a Monday before a Tuesday July 4
        date(2002, 7, 5),  # exception: the Friday after, not the Wednesday before
        date(2003, 12, 26),  # exception
    ],
)
def test_early_closes(day: date) -> None:
    s = session(day)
    assert s.early_close
    assert s.close == datetime.combine(day, time(13), tzinfo=NEW_YORK)
    assert s.close.astimezone(UTC) - s.open.astimezone(UTC) == timedelta(hours=3, minutes=30)


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 7, 5),
        date(2024, 12, 23),
        date(2024, 12, 26),
        date(2024, 12, 31),
        date(2002, 7, 3),  # exception: a full day
        date(2020, 7, 2),  # July 3 2020 was the observed holiday; no early close before it
    ],
)
def test_full_days_near_holidays(day: date) -> None:
    s = session(day)
    assert not s.early_close
    assert s.close.time() == time(16)


def test_dst_moves_the_open_in_utc() -> None:
    # DST ended on 2024-11-03: EDT (UTC-4) before, EST (UTC-5) after.
    before, after = session(date(2024, 11, 1)), session(date(2024, 11, 4))
    assert before.open.astimezone(UTC) == utc(2024, 11, 1, 13, 30)
    assert before.close.astimezone(UTC) == utc(2024, 11, 1, 20)
    assert after.open.astimezone(UTC) == utc(2024, 11, 4, 14, 30)
    assert after.close.astimezone(UTC) == utc(2024, 11, 4, 21)
    # DST started on 2024-03-10.
    assert session(date(2024, 3, 8)).open.astimezone(UTC) == utc(2024, 3, 8, 14, 30)
    assert session(date(2024, 3, 11)).open.astimezone(UTC) == utc(2024, 3, 11, 13, 30)


def test_window_on_across_dst() -> None:
    start, end = time(10), time(15, 30)
    assert window_on(session(date(2024, 11, 1)), start, end) == (
        utc(2024, 11, 1, 14),
        utc(2024, 11, 1, 19, 30),
    )
    assert window_on(session(date(2024, 11, 4)), start, end) == (
        utc(2024, 11, 4, 15),
        utc(2024, 11, 4, 20, 30),
    )
    window = window_on(session(date(2024, 11, 4)), start, end)
    assert window is not None
    assert all(bound.tzinfo is UTC for bound in window)


def test_window_on_clips_to_the_session() -> None:
    regular = session(date(2024, 11, 4))
    assert window_on(regular, time(4), time(23)) == (utc(2024, 11, 4, 14, 30), utc(2024, 11, 4, 21))
    early = session(date(2024, 11, 29))
    assert window_on(early, time(9, 45), time(15, 45)) == (
        utc(2024, 11, 29, 14, 45),
        utc(2024, 11, 29, 18),
    )
    assert window_on(early, time(13), time(15)) is None  # entirely after the early close
    assert window_on(regular, time(16), time(17)) is None
    assert window_on(regular, time(12), time(11)) is None
    assert window_on(regular, time(12), time(12)) is None


def test_window_on_rejects_aware_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        window_on(session(date(2024, 11, 4)), time(10, tzinfo=UTC), time(11))


def test_next_session_over_weekend_and_holiday() -> None:
    # Friday after the close -> Monday; Thursday 2024-03-28 close -> Monday after Good Friday.
    assert next_session(ny(2024, 11, 1, 16)).day == date(2024, 11, 4)
    assert next_session(ny(2024, 3, 28, 17)).day == date(2024, 4, 1)
    # Wednesday before Thanksgiving -> Friday (early close).
    following = next_session(utc(2024, 11, 27, 22))
    assert following.day == date(2024, 11, 29)
    assert following.early_close
    # 2025-01-08 evening -> 2025-01-10 (Carter day of mourning on the 9th).
    assert next_session(ny(2025, 1, 8, 20)).day == date(2025, 1, 10)


def test_next_session_is_the_current_one_while_open_or_before_open() -> None:
    assert next_session(ny(2024, 11, 4, 9, 29)).day == date(2024, 11, 4)
    assert next_session(ny(2024, 11, 4, 12)).day == date(2024, 11, 4)
    assert next_session(ny(2024, 11, 4, 15, 59, 59)).day == date(2024, 11, 4)
    assert next_session(ny(2024, 11, 4, 16)).day == date(2024, 11, 5)
    # 17:30 UTC on an early-close day is 12:30 New York: still open.
    assert next_session(utc(2024, 11, 29, 17, 30)).day == date(2024, 11, 29)
    assert next_session(utc(2024, 11, 29, 18)).day == date(2024, 12, 2)


def test_previous_session() -> None:
    assert previous_session(ny(2024, 11, 4, 12)).day == date(2024, 11, 1)  # open: prior one
    assert previous_session(ny(2024, 11, 4, 16)).day == date(2024, 11, 4)
    assert previous_session(ny(2024, 4, 1, 8)).day == date(2024, 3, 28)  # over Good Friday
    assert previous_session(ny(2025, 1, 1, 12)).day == date(2024, 12, 31)


def test_previous_and_next_sessions_are_consecutive() -> None:
    moment = utc(2024, 10, 25)
    for _ in range(24 * 4 * 21):  # every 15 minutes for three weeks
        prev, nxt = previous_session(moment), next_session(moment)
        assert prev.close <= moment < nxt.close
        assert next_session(prev.close) == nxt
        moment += timedelta(minutes=15)


def test_is_open() -> None:
    assert not is_open(ny(2024, 11, 4, 9, 29, 59))
    assert is_open(ny(2024, 11, 4, 9, 30))
    assert is_open(utc(2024, 11, 4, 20, 59))
    assert not is_open(utc(2024, 11, 4, 21))
    assert is_open(utc(2024, 11, 1, 19, 59))  # 15:59 EDT
    assert not is_open(utc(2024, 11, 4, 14))  # 09:00 EST, though 14:00 UTC was open in summer
    assert not is_open(ny(2024, 11, 29, 13))
    assert not is_open(ny(2024, 11, 28, 12))  # Thanksgiving
    assert not is_open(ny(2024, 11, 2, 12))  # Saturday


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(datetime(2024, 11, 4, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_session(datetime(2024, 11, 4, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        previous_session(datetime(2024, 11, 4, 12))


def test_years_outside_the_rules_are_rejected() -> None:
    with pytest.raises(ValueError, match="2000-2100"):
        session_on(date(1999, 12, 31))
    with pytest.raises(ValueError, match="2000-2100"):
        holiday_name(date(2101, 1, 3))


def test_datetimes_are_not_dates_here() -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        session_on(datetime(2024, 11, 28, 12))
    with pytest.raises(TypeError, match="not a datetime"):
        holiday_name(datetime(2024, 11, 28, 12))


def test_session_counts_per_year() -> None:
    # Trading-day counts of the NYSE's published calendars.
    for year, expected in ((2019, 252), (2024, 252), (2025, 250)):
        days = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
        count = sum(1 for d in days if d.year == year and session_on(d) is not None)
        assert count == expected, year


def test_every_year_has_every_rule_holiday_once() -> None:
    specials = {"September 11 attacks", "Hurricane Sandy"}
    for year in range(2000, 2101):
        day, names = date(year, 1, 1), []
        while day.year == year:
            name = holiday_name(day)
            if name is not None and name not in specials and "Mourning" not in name:
                names.append(name.removesuffix(" (observed)"))
            day += timedelta(days=1)
        expected = 8 + (date(year, 1, 1).weekday() != 5) + (year >= 2022)
        assert len(names) == len(set(names)) == expected, (year, names)
