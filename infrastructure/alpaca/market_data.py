"""The MarketData port over Alpaca: minute bars from StockDataStream, gaps filled through REST.

alpaca-py reconnects a dropped data WebSocket by itself (with backoff), but the bars published
while it was away are gone from the stream. As soon as the stream has subscribed again the feed
fetches them with StockHistoricalDataClient, in (time, symbol) order; and a missing minute seen
when a bar arrives is fetched before that bar. Bars already delivered are skipped, so no bar is
missed or processed twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from tenacity import RetryError

from domain.bars import BAR_LENGTH, Bar
from domain.units import CENT
from infrastructure.alpaca.retrying import retrying

log = logging.getLogger("openbell.alpaca.market_data")


def to_bar(symbol: str, raw: Any) -> Bar:
    """An alpaca-py Bar as ours: exact cents when the float is a whole number of cents."""
    return Bar(
        symbol,
        raw.timestamp,
        _price(raw.open),
        _price(raw.high),
        _price(raw.low),
        _price(raw.close),
        int(raw.volume),
    )


def _price(value: float) -> Decimal:
    exact = Decimal(repr(float(value)))
    cents = exact.quantize(CENT)
    return cents if cents == exact else exact


class AlpacaBarFeed:
    """Live minute bars for `symbols`, each exactly once, in (time, symbol) order across gaps."""

    def __init__(
        self,
        stream: StockDataStream,
        history: StockHistoricalDataClient,
        symbols: Sequence[str],
        *,
        feed: str = "iex",
        after: datetime | None = None,
        attempts: int = 6,
        backoff: float = 0.05,
    ) -> None:
        self._stream, self._history = stream, history
        self.symbols = sorted(set(symbols))
        self._feed, self._attempts, self._backoff = DataFeed(feed), attempts, backoff
        self._queue: queue.Queue[Bar] = queue.Queue()
        self._last: dict[str, datetime] = dict.fromkeys(self.symbols, after) if after else {}
        self._newest: datetime | None = after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = {"streamed": 0, "backfilled": 0, "duplicates": 0, "gaps": 0}
        # (Re)subscriptions the stream made / the feed caught up after (see `_catch_up`).
        self._subscribed = self._caught_up = 0
        if hasattr(stream, "on_subscribed"):
            stream.on_subscribed = self._on_subscribed

    # ---- history ---------------------------------------------------------------------------

    def history(
        self, start: datetime, end: datetime | None = None, symbols: Sequence[str] | None = None
    ) -> list[Bar]:
        """Published bars of `symbols` (default: the feed's) from `start` to `end` (inclusive),
        sorted by (time, symbol); nothing is marked delivered."""
        return self._fetch(self.symbols if symbols is None else symbols, start, end)

    def warm_up(self, start: datetime, end: datetime | None = None) -> list[Bar]:
        """History for indicator warm-up; the live bars then continue right after it."""
        bars = self.history(start, end)
        for bar in bars:
            self._mark(bar)
        return bars

    def add(self, symbols: Sequence[str], start: datetime) -> list[Bar]:
        """Subscribe to more symbols (between bars); their history since `start` for warm-up,
        and their live bars after it."""
        new = sorted(set(symbols) - set(self.symbols))
        if not new:
            return []
        self.symbols = sorted({*self.symbols, *new})
        if self._thread is not None:
            self._stream.subscribe_bars(self._on_bar, *new)  # sent at once on a running stream
        bars = self._fetch(new, start, None)
        for bar in bars:
            self._mark(bar)
        return bars

    def _fetch(self, symbols: Sequence[str], start: datetime, end: datetime | None) -> list[Bar]:
        request = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=TimeFrame.Minute,
            start=start,
            end=end,
            feed=self._feed,
        )
        try:
            result = retrying(self._attempts, self._backoff, log)(
                self._history.get_stock_bars, request
            )
        except RetryError as exc:
            raise ConnectionError(f"no bars from Alpaca after {self._attempts} attempts") from exc
        data: dict[str, list[Any]] = getattr(result, "data", {})
        bars = [to_bar(symbol, raw) for symbol, rows in data.items() for raw in rows]
        return sorted(bars, key=lambda b: (b.timestamp, b.symbol))

    # ---- live ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stream.subscribe_bars(self._on_bar, *self.symbols)
        self._thread = threading.Thread(target=self._stream.run, name="alpaca-bars", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            try:
                self._stream.stop()
            except Exception:
                log.debug("data stream stop failed", exc_info=True)
            self._thread.join(timeout=0.5)

    async def _on_bar(self, raw: Any) -> None:
        self._queue.put(to_bar(raw.symbol, raw))

    def _on_subscribed(self) -> None:  # on the stream's thread
        self._subscribed += 1

    def _catch_up(self) -> list[Bar]:
        """After the stream (re)subscribed: the bars published since the newest one delivered."""
        if self._subscribed == self._caught_up:
            return []
        self._caught_up = self._subscribed
        if self._newest is None:
            return []  # nothing delivered yet: no gap to speak of
        return self._backfill(self._newest + BAR_LENGTH, None)

    def bars(self) -> Iterator[Bar]:
        """Blocks for the next bar until `stop()`; backfills any gap before yielding past it."""
        while not self._stop.is_set():
            yield from self._catch_up()
            try:
                bar = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self.stats["streamed"] += 1
            yield from self._accept(bar)

    def next_bars(self, timeout: float) -> list[Bar]:
        """What has arrived within `timeout` seconds (non-blocking use, e.g. a live runner)."""
        out = self._catch_up()
        try:
            bar = self._queue.get(timeout=0 if out else timeout)
        except queue.Empty:
            return out
        while True:
            self.stats["streamed"] += 1
            out += self._accept(bar)
            try:
                bar = self._queue.get_nowait()
            except queue.Empty:
                return out

    def _accept(self, bar: Bar) -> list[Bar]:
        last = self._last.get(bar.symbol)
        if last is not None and bar.timestamp <= last:
            self.stats["duplicates"] += 1
            return []
        out: list[Bar] = []
        if self._newest is not None and bar.timestamp > self._newest:
            missing_from = min(
                (self._last.get(s, self._newest) for s in self.symbols), default=self._newest
            )
            if missing_from + BAR_LENGTH < bar.timestamp:
                out += self._backfill(missing_from + BAR_LENGTH, bar.timestamp - BAR_LENGTH)
        elif last is not None and last + BAR_LENGTH < bar.timestamp:
            out += self._backfill(last + BAR_LENGTH, bar.timestamp - BAR_LENGTH, [bar.symbol])
        self._mark(bar)
        out.append(bar)
        return out

    def _backfill(
        self, start: datetime, end: datetime | None, symbols: Sequence[str] | None = None
    ) -> list[Bar]:
        found = []
        for bar in self._fetch(symbols or self.symbols, start, end):
            last = self._last.get(bar.symbol)
            if last is None or bar.timestamp > last:
                self._mark(bar)
                found.append(bar)
        self.stats["backfilled"] += len(found)
        if found:
            self.stats["gaps"] += 1
            log.info("backfilled %d bars from %s to %s", len(found), start, end or "now")
        return found

    def _mark(self, bar: Bar) -> None:
        self._last[bar.symbol] = bar.timestamp
        if self._newest is None or bar.timestamp > self._newest:
            self._newest = bar.timestamp
