"""The simulator's state and its market loop: clock, bars, exchange, streams and faults.

Everything runs on one asyncio loop (uvicorn's), so requests, the clock and the streams never
race. At each minute boundary T the loop first publishes the bars that closed at T, then opens
the bars starting at T (resting orders meet their open); at a session's close it expires the
day's open orders. With speed 0 the clock moves only through `POST /admin/clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.bars import BAR_LENGTH, Bar
from domain.calendar import session_on
from domain.units import NEW_YORK
from infrastructure.alpaca_sim.clock import SimClock
from infrastructure.alpaca_sim.faults import Faults
from infrastructure.alpaca_sim.hours import MarketHours
from infrastructure.alpaca_sim.market import BarBook
from infrastructure.alpaca_sim.matching import Exchange, Holding
from infrastructure.alpaca_sim.orders import SimOrder, asset_id
from infrastructure.alpaca_sim.streams import StreamHub


@dataclass(frozen=True, slots=True)
class SimOptions:
    """How `openbell alpaca-sim` runs: keys it accepts, speed, seed, money, page size."""

    key: str = "sim-key"
    secret: str = "sim-secret"
    speed: float = 0.0
    seed: int = 0
    cash: Decimal = Decimal(1_000_000)
    page_size: int = 10_000
    start: datetime | None = None  # default: the first bar's minute
    # Holdings the account starts with: (symbol, qty, average price).
    positions: tuple[tuple[str, int, Decimal], ...] = ()


class SimServer:
    """All of the simulator's state; `rest.build_app` exposes it over HTTP and WebSockets."""

    def __init__(self, bars: Sequence[Bar], options: SimOptions | None = None) -> None:
        self.options = options or SimOptions()
        self.book = BarBook(bars)
        self.clock = SimClock(self.options.start or self.book.minutes[0], self.options.speed)
        self.faults = Faults()
        self.streams = StreamHub(self.options.key, self.options.secret, self._streams_blocked)
        self.hours = MarketHours()
        self.exchange = Exchange(
            self.book.symbols,
            self._on_order_event,
            self.options.cash,
            self.options.seed,
            market_open=self.hours.is_open,
        )
        self.account_id = self.exchange.new_id()
        for symbol, qty, price in self.options.positions:
            self.exchange.positions[symbol] = Holding(qty, qty * price)
        self.submissions = 0  # every order request that reached the exchange
        self.bar_requests = 0  # every page of history served (the data API's bars endpoints)
        # Wall-clock times (time.time(), comparable across processes on one machine) at which
        # each minute's bars left and each client order id first arrived: bench/live.py.
        self.bars_sent: dict[datetime, float] = {}
        self.orders_received: dict[str, float] = {}
        self._opened = self._published = 0  # minutes opened / published so far
        self._expired: set[date] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.catch_up()
        self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        self.streams.drop_all()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.005 if self.clock.speed else 0.05)
            self.catch_up()

    # ---- the market loop -------------------------------------------------------------------

    def catch_up(self) -> int:
        """Publish and open every minute boundary the clock has passed; the bars published."""
        now, minutes, published = self.clock.now(), self.book.minutes, 0
        while True:
            next_open = minutes[self._opened] if self._opened < len(minutes) else None
            next_pub = (
                minutes[self._published] + BAR_LENGTH if self._published < self._opened else None
            )
            if (
                next_pub is not None
                and next_pub <= now
                and (next_open is None or next_pub <= next_open)
            ):
                bars = self.book.opening(minutes[self._published])
                for bar in bars:
                    self.exchange.close_bar(bar)
                self.bars_sent.setdefault(minutes[self._published], time.time())
                self.streams.publish_bars(bars)
                self._published += 1
                published += len(bars)
                self._expire_if_closed(next_pub)
            elif next_open is not None and next_open <= now:
                self.exchange.open_minute(next_open, self.book.opening(next_open))
                self._opened += 1
            else:
                return published

    def _expire_if_closed(self, moment: datetime) -> None:
        """Day orders still open when the session's last bar is published expire, as Alpaca's."""
        session = session_on(moment.astimezone(NEW_YORK).date())
        if session is not None and moment >= session.close and session.day not in self._expired:
            self._expired.add(session.day)
            self.exchange.expire_day_orders(moment)

    def advance(self, seconds: float) -> int:
        self.clock.advance(seconds)
        return self.catch_up()

    def bars_published_until(self) -> datetime | None:
        if not self._published:
            return None
        return self.book.minutes[self._published - 1]

    # ---- orders and their trade updates ----------------------------------------------------

    def submit(self, body: dict[str, Any]) -> SimOrder:
        received = time.time()
        self.catch_up()
        self.submissions += 1
        self.orders_received.setdefault(str(body.get("client_order_id")), received)
        if self.faults.take("reject_orders"):
            self.exchange.reject_next += 1
        return self.exchange.submit(body, self.clock.now())

    def _on_order_event(self, event: str, order: SimOrder, at: datetime, extra: Any) -> None:
        data: dict[str, Any] = {
            "event": event,
            "timestamp": _iso(at),
            "order": order.to_json(),
        }
        if event == "fill":
            data.update(
                execution_id=str(self.exchange.new_id()),
                price=str(extra["price"]),
                qty=str(extra["qty"]),
                position_qty=str(extra["position_qty"]),
            )
        delay = self.faults.delay_fills_ms if event == "fill" else 0
        if delay and self._loop is not None:
            self._loop.call_later(delay / 1000, self.streams.publish_trade_update, data)
        else:
            self.streams.publish_trade_update(data)

    def _streams_blocked(self) -> bool:
        return self.faults.block_streams

    # ---- JSON views ------------------------------------------------------------------------

    def account_json(self) -> dict[str, Any]:
        ex = self.exchange
        market = sum(
            (h.qty * ex.marks.get(s, h.avg_price) for s, h in ex.positions.items()), Decimal(0)
        )
        equity = ex.cash + market
        return {
            "id": str(self.account_id),
            "account_number": "SIM000001",
            "status": "ACTIVE",
            "crypto_status": "INACTIVE",
            "currency": "USD",
            "buying_power": str(ex.cash),
            "regt_buying_power": str(ex.cash),
            "daytrading_buying_power": str(ex.cash),
            "non_marginable_buying_power": str(ex.cash),
            "cash": str(ex.cash),
            "accrued_fees": "0",
            "portfolio_value": str(equity),
            "equity": str(equity),
            "last_equity": str(self.options.cash),
            "long_market_value": str(market),
            "short_market_value": "0",
            "multiplier": "1",
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": False,
            "created_at": _iso(self.book.minutes[0] - timedelta(days=30)),
            "daytrade_count": 0,
        }

    def positions_json(self) -> list[dict[str, Any]]:
        ex, rows = self.exchange, []
        for symbol, held in sorted(ex.positions.items()):
            price = ex.marks.get(symbol, held.avg_price)
            value, cost = price * held.qty, held.cost
            pl = value - cost
            rows.append(
                {
                    "asset_id": str(asset_id(symbol)),
                    "symbol": symbol,
                    "exchange": "NASDAQ",
                    "asset_class": "us_equity",
                    "asset_marginable": False,
                    "avg_entry_price": str(held.avg_price),
                    "qty": str(held.qty),
                    "qty_available": str(held.qty),
                    "side": "long",
                    "market_value": str(value),
                    "cost_basis": str(cost),
                    "unrealized_pl": str(pl),
                    "unrealized_plpc": str((pl / cost).quantize(Decimal("0.0001")) if cost else 0),
                    "unrealized_intraday_pl": str(pl),
                    "unrealized_intraday_plpc": "0",
                    "current_price": str(price),
                    "lastday_price": str(price),
                    "change_today": "0",
                }
            )
        return rows


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
