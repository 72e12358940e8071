"""The market clock and calendar as the broker states them (GET /v2/clock, /v2/calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetCalendarRequest

from domain.calendar import NEW_YORK


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
