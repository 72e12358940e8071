"""One-minute OHLCV bars, the only market data the engine consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

BAR_LENGTH = timedelta(minutes=1)


class BarFloats(NamedTuple):
    """A bar's prices and volume as floats, for indicator math (money stays Decimal)."""

    open: float
    high: float
    low: float
    close: float
    volume: float


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
    # float(x) of each field, when the source already computed them (a loader does, in bulk).
    floats: BarFloats | None = field(default=None, compare=False, repr=False)

    def as_floats(self) -> BarFloats:
        if self.floats is not None:
            return self.floats
        values = (float(self.open), float(self.high), float(self.low), float(self.close))
        # tuple.__new__ skips the NamedTuple's generated __new__: half the cost per bar.
        return tuple.__new__(BarFloats, (*values, float(self.volume)))

    @property
    def closed_at(self) -> datetime:
        """The moment the bar is complete and the engine may act on it."""
        return self.timestamp + BAR_LENGTH
