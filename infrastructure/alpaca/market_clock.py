"""The market clock and calendar as the broker states them (GET /v2/clock, /v2/calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetCalendarRequest

from domain.calendar import Session
from domain.units import NEW_YORK


@dataclass(frozen=True, slots=True)
class MarketClock:
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


@dataclass(frozen=True, slots=True)
class BrokerSession:
    day: date
    open: datetime
    close: datetime


class AlpacaMarketClock:
    """Implements the Clock port with the broker's time; sessions from the broker's calendar."""

    def __init__(self, client: TradingClient) -> None:
        self._client = client
        self._sessions: dict[date, Session | None] = {}

    def now(self) -> datetime:
        return self.clock().timestamp

    def clock(self) -> MarketClock:
        raw = self._client.get_clock()
        return MarketClock(raw.timestamp, raw.is_open, raw.next_open, raw.next_close)  # type: ignore[union-attr]

    def sessions(self, start: date, end: date) -> list[BrokerSession]:
        rows: list[Any] = list(self._client.get_calendar(GetCalendarRequest(start=start, end=end)))
        # The calendar's open and close are New York wall times without an offset.
        return [
            BrokerSession(
                row.date, row.open.replace(tzinfo=NEW_YORK), row.close.replace(tzinfo=NEW_YORK)
            )
            for row in rows
        ]

    def session(self, day: date) -> Session | None:
        """The broker's session on `day` (None: closed); fetched a month at a time and kept."""
        if day not in self._sessions:
            start, end = day - timedelta(days=15), day + timedelta(days=15)
            found = {s.day: s for s in self.sessions(start, end)}
            for offset in range((end - start).days + 1):
                moment = start + timedelta(days=offset)
                got = found.get(moment)
                self._sessions[moment] = (
                    None
                    if got is None
                    else Session(got.day, got.open, got.close, early_close=got.close.hour < 16)
                )
        return self._sessions[day]
