"""One-minute OHLCV bars, the only market data the engine consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

BAR_LENGTH = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Bar:
    """A one-minute bar; `timestamp` is the tz-aware start of the minute (Alpaca's convention)."""

    symbol: str
    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    @property
    def closed_at(self) -> datetime:
        """The moment the bar is complete and the engine may act on it."""
        return self.timestamp + BAR_LENGTH
