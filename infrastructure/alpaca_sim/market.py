"""Replayed bars: what the server has published by a moment, and the bar trading right now."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime

from domain.bars import Bar


class BarBook:
    """Bars by symbol and minute. A bar is published (history, streams) once its minute closed."""

    def __init__(self, bars: Iterable[Bar]) -> None:
        self._by_symbol: dict[str, list[Bar]] = {}
        for bar in sorted(bars, key=lambda b: (b.symbol, b.timestamp)):
            self._by_symbol.setdefault(bar.symbol, []).append(bar)
        self._times = {s: [b.timestamp for b in bs] for s, bs in self._by_symbol.items()}
        self.minutes: list[datetime] = sorted(
            {b.timestamp for bs in self._by_symbol.values() for b in bs}
        )
        if not self.minutes:
            raise ValueError("the simulator needs at least one bar")

    @property
    def symbols(self) -> list[str]:
        return sorted(self._by_symbol)

    def at(self, symbol: str, minute: datetime) -> Bar | None:
        """The bar of `symbol` starting at `minute`, if there is one."""
        times = self._times.get(symbol, [])
        i = bisect.bisect_left(times, minute)
        return self._by_symbol[symbol][i] if i < len(times) and times[i] == minute else None

    def opening(self, minute: datetime) -> list[Bar]:
        """Every symbol's bar starting at `minute`, by symbol."""
        return [bar for s in self.symbols if (bar := self.at(s, minute)) is not None]

    def published(
        self, symbol: str, start: datetime | None, end: datetime | None, now: datetime
    ) -> Sequence[Bar]:
        """Closed bars of `symbol` (closed at or before `now`) with start <= timestamp <= end."""
        times = self._times.get(symbol, [])
        lo = 0 if start is None else bisect.bisect_left(times, start)
        hi = bisect.bisect_right(times, end) if end is not None else len(times)
        bars = self._by_symbol.get(symbol, [])[lo:hi]
        cut = bisect.bisect_right([b.closed_at for b in bars], now)
        return bars[:cut]
