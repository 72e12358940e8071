"""The NYSE regular-session calendar (9:30-16:00 New York time), computed by rule.

Pure standard library and free of wall-clock reads: every function answers for the date
or instant it is given. Supported years are 2000-2100; other dates raise `ValueError`
because the rules below do not describe them.

Full-day closures (NYSE Rule 7.2 as applied since 1998):

* New Year's Day, Jan 1; on a Sunday it is observed Monday Jan 2. On a Saturday it is
  *not* observed at all (the preceding Friday, Dec 31, is a normal session).
* Martin Luther King Jr. Day, third Monday of January (observed by the NYSE since 1998).
* Washington's Birthday, third Monday of February.
* Good Friday, two days before Western (Gregorian) Easter.
* Memorial Day, last Monday of May.
* Juneteenth National Independence Day, June 19 (from 2022).
* Independence Day, July 4.
* Labor Day, first Monday of September.
* Thanksgiving Day, fourth Thursday of November.
* Christmas Day, December 25.

Apart from New Year's Day, a holiday on a Saturday is observed the Friday before and one
on a Sunday the Monday after. `SPECIAL_CLOSURES` adds the known unscheduled closures.

Early closes (13:00 New York time) follow these rules:

* the day after Thanksgiving;
* Christmas Eve, Dec 24, when it is a weekday session (i.e. Monday-Thursday: a Friday
  Dec 24 is the observed Christmas holiday);
* July 3 when it is a weekday session and July 4 is a weekday, i.e. July 3 is Monday to
  Thursday (a Friday July 3 is the observed Independence Day).

`EARLY_CLOSE_EXCEPTIONS` overrides the rules for known historical deviations. Intraday
disruptions and delayed openings (moments of silence, system outages) are not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType

from domain.units import NEW_YORK

__all__ = [
    "EARLY_CLOSE",
    "EARLY_CLOSE_EXCEPTIONS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "REGULAR_CLOSE",
    "REGULAR_OPEN",
    "SPECIAL_CLOSURES",
    "Session",
    "holiday_name",
    "is_open",
    "next_session",
    "previous_session",
    "session_on",
    "window_on",
]

REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)

FIRST_YEAR = 2000
LAST_YEAR = 2100

_MONDAY, _THURSDAY, _SATURDAY, _SUNDAY = 0, 3, 5, 6

SPECIAL_CLOSURES: Mapping[date, str] = MappingProxyType(
    {
        date(2001, 9, 11): "September 11 attacks",
        date(2001, 9, 12): "September 11 attacks",
        date(2001, 9, 13): "September 11 attacks",
        date(2001, 9, 14): "September 11 attacks",
        date(2004, 6, 11): "National Day of Mourning for President Ronald Reagan",
        date(2007, 1, 2): "National Day of Mourning for President Gerald Ford",
        date(2012, 10, 29): "Hurricane Sandy",
        date(2012, 10, 30): "Hurricane Sandy",
        date(2018, 12, 5): "National Day of Mourning for President George H. W. Bush",
        date(2025, 1, 9): "National Day of Mourning for President Jimmy Carter",
    }
)
"""Unscheduled full-day closures that no rule predicts."""

EARLY_CLOSE_EXCEPTIONS: Mapping[date, bool] = MappingProxyType(
    {
        # July 4 2002 was a Thursday: the early close was Friday July 5, not Wednesday July 3
        # (the Wednesday-before rule dates from 2013).
        date(2002, 7, 3): False,
        date(2002, 7, 5): True,
        # The Friday after Christmas 2003 closed at 13:00.
        date(2003, 12, 26): True,
    }
)
"""Days where the early-close rules are wrong: True forces a 13:00 close, False a full day."""


@dataclass(frozen=True, slots=True)
class Session:
    """One regular trading session; `open`/`close` are tz-aware in New York time."""

    day: date
    open: datetime
    close: datetime
    early_close: bool


def _check_day(day: date) -> None:
    if isinstance(day, datetime):  # a datetime is a date, but would miss the holiday table
        raise TypeError(f"expected a date, not a datetime: {day!r}")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(
            f"the NYSE calendar covers {FIRST_YEAR}-{LAST_YEAR}, not the year {day.year}"
        )


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) given weekday of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    """The last given weekday of a month."""
    next_month = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _observed(day: date) -> date:
    """Saturday holidays move to the Friday before, Sunday holidays to the Monday after."""
    if day.weekday() == _SATURDAY:
        return day - timedelta(days=1)
    if day.weekday() == _SUNDAY:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=256)
def _holidays(year: int) -> dict[date, str]:
    """Every weekday closure of `year`, by rule and from `SPECIAL_CLOSURES`."""
    closures: dict[date, str] = {}

    def add(actual: date, name: str) -> None:
        observed = _observed(actual)
        closures[observed] = name if observed == actual else f"{name} (observed)"

    new_year = date(year, 1, 1)
    if new_year.weekday() != _SATURDAY:  # never observed on the Friday before
        add(new_year, "New Year's Day")
    closures[_nth_weekday(year, 1, _MONDAY, 3)] = "Martin Luther King Jr. Day"
    closures[_nth_weekday(year, 2, _MONDAY, 3)] = "Washington's Birthday"
    closures[_easter(year) - timedelta(days=2)] = "Good Friday"
    closures[_last_weekday(year, 5, _MONDAY)] = "Memorial Day"
    if year >= 2022:
        add(date(year, 6, 19), "Juneteenth National Independence Day")
    add(date(year, 7, 4), "Independence Day")
    closures[_nth_weekday(year, 9, _MONDAY, 1)] = "Labor Day"
    closures[_nth_weekday(year, 11, _THURSDAY, 4)] = "Thanksgiving Day"
    add(date(year, 12, 25), "Christmas Day")
    closures.update({day: name for day, name in SPECIAL_CLOSURES.items() if day.year == year})
    return closures


def holiday_name(day: date) -> str | None:
    """The name of the closure on `day`, or None if `day` is a session or a weekend day.

    Observed holidays carry an " (observed)" suffix, e.g. "Independence Day (observed)"
    on Friday 2026-07-03. A holiday that falls on a weekend and is not moved (New Year's
    Day on a Saturday) has no weekday closure, so the weekend day itself returns None.
    """
    _check_day(day)
    if day.weekday() >= _SATURDAY:
        return None
    return _holidays(day.year).get(day)


def _is_early_close(day: date) -> bool:
    forced = EARLY_CLOSE_EXCEPTIONS.get(day)
    if forced is not None:
        return forced
    year = day.year
    if day == _nth_weekday(year, 11, _THURSDAY, 4) + timedelta(days=1):
        return True
    if day.month == 12 and day.day == 24:
        return True  # session_on already excluded weekends and the observed Christmas
    # July 3 on a Friday is the observed Independence Day, so it never reaches here.
    return day.month == 7 and day.day == 3


@lru_cache(maxsize=65536)
def session_on(day: date) -> Session | None:
    """The regular session on `day`, or None on weekends and holidays."""
    _check_day(day)
    if day.weekday() >= _SATURDAY or day in _holidays(day.year):
        return None
    early = _is_early_close(day)
    return Session(
        day=day,
        open=datetime.combine(day, REGULAR_OPEN, tzinfo=NEW_YORK),
        close=datetime.combine(day, EARLY_CLOSE if early else REGULAR_CLOSE, tzinfo=NEW_YORK),
        early_close=early,
    )


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


def _new_york_date(moment: datetime) -> date:
    return moment.astimezone(NEW_YORK).date()


def next_session(after: datetime) -> Session:
    """The first session whose close is after `after`: the current one if the market is
    open (or has yet to open today), otherwise the next one."""
    _require_aware(after, "after")
    day = _new_york_date(after)
    while True:
        session = session_on(day)
        if session is not None and session.close > after:
            return session
        day += timedelta(days=1)


def previous_session(before: datetime) -> Session:
    """The last session whose close is at or before `before` (the last completed session).

    While the market is open this is the session before the current one, so
    `previous_session(t)` and `next_session(t)` are always consecutive sessions.
    """
    _require_aware(before, "before")
    day = _new_york_date(before)
    while True:
        session = session_on(day)
        if session is not None and session.close <= before:
            return session
        day -= timedelta(days=1)


def is_open(at: datetime) -> bool:
    """Whether the regular session is in progress at `at` (open inclusive, close exclusive)."""
    _require_aware(at, "at")
    session = session_on(_new_york_date(at))
    return session is not None and session.open <= at < session.close


def window_on(session: Session, start: time, end: time) -> tuple[datetime, datetime] | None:
    """A bot's trading window on `session`, as tz-aware UTC datetimes.

    `start` and `end` are naive New York wall-clock times on the session day; the window
    is clipped to the session's open and close, and None is returned if nothing is left.
    Each bound is resolved through the New York zone for that very day, so the result is
    right on either side of a daylight-saving change.
    """
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is not None:
            raise ValueError(f"{name} must be a naive New York wall-clock time, got {value!r}")
    begin = max(datetime.combine(session.day, start, tzinfo=NEW_YORK), session.open)
    finish = min(datetime.combine(session.day, end, tzinfo=NEW_YORK), session.close)
    if begin >= finish:
        return None
    return begin.astimezone(UTC), finish.astimezone(UTC)
