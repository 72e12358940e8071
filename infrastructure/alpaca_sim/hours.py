"""Regular trading hours for the simulator: whether the market is open at a moment."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from domain.calendar import session_on
from domain.units import NEW_YORK


class MarketHours:
    """The NYSE calendar's regular session, asked once per stretch of open or closed time."""

    def __init__(self) -> None:
        # The stretch [start, end) the last answer holds for; checked first, it keeps the
        # calendar out of the once-a-minute path.
        self._start = self._end = datetime.min.replace(tzinfo=NEW_YORK)
        self._open = False

    def is_open(self, moment: datetime) -> bool:
        if not self._start <= moment < self._end:
            self._start, self._end, self._open = _stretch(moment)
        return self._open


def _stretch(moment: datetime) -> tuple[datetime, datetime, bool]:
    day = moment.astimezone(NEW_YORK).date()
    midnight = datetime.combine(day, time(), NEW_YORK)
    next_midnight = datetime.combine(day + timedelta(days=1), time(), NEW_YORK)
    session = session_on(day)
    if session is None:
        return midnight, next_midnight, False
    if moment < session.open:
        return midnight, session.open, False
    if moment < session.close:
        return session.open, session.close, True
    return session.close, next_midnight, False
