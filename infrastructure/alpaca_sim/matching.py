"""The simulator's exchange: one account, its orders and positions, matched against bars.

Fill rules are replay's (`infrastructure/sim_broker.py`), so a session traded through the
server fills like its replay: an order meets the bar in progress when it arrives and then each
new bar at its open; market orders fill at that bar's open; limits at the open when marketable,
else at the limit if the bar trades through it; one-cancels-other exits check the stop first (a
gap through it fills at the open), and an OCO arriving in a bar meets the rest of that bar.

Outside regular hours, as at Alpaca, an order is taken but not routed (status and trade update
"accepted"); at the next session's first minute it is routed ("new") and meets that bar's open,
so a day market order placed overnight fills at the opening price. No extended-hours trading:
bars outside the session fill nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from domain.bars import Bar
from domain.fills import Fill, exit_fill, limit_fill, market_fill
from infrastructure.alpaca_sim.orders import SimOrder

Emit = Callable[[str, SimOrder, datetime, Mapping[str, Any]], None]
MarketOpen = Callable[[datetime], bool]


class OrderError(Exception):
    """A request Alpaca would refuse: HTTP status, Alpaca's error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(slots=True)
class Holding:
    qty: int = 0
    cost: Decimal = Decimal(0)

    @property
    def avg_price(self) -> Decimal:
        return (self.cost / self.qty).quantize(Decimal("0.0001")) if self.qty else Decimal(0)


class Exchange:
    """Accepts, matches, cancels and expires orders; reports each change through `emit`."""

    def __init__(
        self,
        symbols: list[str],
        emit: Emit,
        cash: Decimal,
        seed: int = 0,
        market_open: MarketOpen = lambda _: True,
    ) -> None:
        self._symbols, self._emit, self._market_open = set(symbols), emit, market_open
        self._rng = random.Random(seed)
        self.cash = cash
        self.orders: dict[UUID, SimOrder] = {}
        self.by_client: dict[str, SimOrder] = {}
        self.open: dict[UUID, SimOrder] = {}  # the open ones, so matching skips the rest
        # The open ones again, by symbol and the buys: a check or a bar looks only at its own.
        self._open_by_symbol: dict[str, dict[UUID, SimOrder]] = {}
        self._open_buys: dict[UUID, SimOrder] = {}
        self.queued: dict[UUID, SimOrder] = {}  # taken while the market was closed, not routed
        self.positions: dict[str, Holding] = {}
        self.marks: dict[str, Decimal] = {}
        self._current: dict[str, Bar] = {}
        self.reject_next = 0

    def new_id(self) -> UUID:
        return UUID(int=self._rng.getrandbits(128), version=4)

    # ---- requests --------------------------------------------------------------------------

    def submit(self, body: Mapping[str, Any], now: datetime) -> SimOrder:
        order = self._parse(body, now)
        if order.client_order_id in self.by_client:
            raise OrderError(422, 40010001, "client_order_id must be unique")
        self._check_funds(order)
        self.orders[order.id] = self.by_client[order.client_order_id] = order
        self._opened(order)
        routed = self._market_open(now)
        order.status = "new" if routed else "accepted"
        self._emit(order.status, order, now, {})
        if self.reject_next > 0:
            self.reject_next -= 1
            order.status, order.failed_at, order.updated_at = "rejected", now, now
            self._closed(order)
            self._emit("rejected", order, now, {})
            return order
        if not routed:
            self.queued[order.id] = order  # routed at the next session's first minute
            return order
        bar = self._current.get(order.symbol)
        if bar is not None and bar.timestamp <= now < bar.closed_at:
            order.placed_in = bar.timestamp
            self._try_fill(order, bar, intrabar=order.order_class == "oco", at=now)
        return order

    def cancel(self, order: SimOrder, now: datetime, event: str = "canceled") -> None:
        if not order.is_open:
            raise OrderError(422, 42210000, f"order is {order.status} and cannot be canceled")
        order.status, order.updated_at = event, now
        self._closed(order)
        self.queued.pop(order.id, None)
        if event == "expired":
            order.expired_at = now
        else:
            order.canceled_at = now
        self._emit(event, order, now, {})

    # ---- the market ------------------------------------------------------------------------

    def open_minute(self, minute: datetime, bars: list[Bar]) -> None:
        """A new minute's bars start trading: resting orders meet each at its open."""
        if not self._market_open(minute):
            return  # outside regular hours: nothing is routed and nothing fills
        if self.queued:
            self._route_queued(minute)
        for bar in bars:
            self._current[bar.symbol] = bar
            for order in list(self._open_by_symbol.get(bar.symbol, {}).values()):
                if order.placed_in != bar.timestamp:
                    self._try_fill(order, bar, intrabar=False, at=minute)

    def close_bar(self, bar: Bar) -> None:
        self.marks[bar.symbol] = bar.close

    def expire_day_orders(self, now: datetime) -> None:
        """The session closed: its day orders expire (those queued for the next one stay)."""
        for order in list(self.open.values()):
            if order.id not in self.queued:
                self.cancel(order, now, "expired")

    def _route_queued(self, minute: datetime) -> None:
        for order in self.queued.values():
            order.status, order.updated_at = "new", minute
            self._emit("new", order, minute, {})
        self.queued.clear()

    # ---- internals -------------------------------------------------------------------------

    def _try_fill(self, order: SimOrder, bar: Bar, intrabar: bool, at: datetime) -> None:
        price = fill_price(order, bar, intrabar)
        if price is None:
            return
        qty = order.qty - order.filled_qty
        held = self.positions.setdefault(order.symbol, Holding())
        if order.side == "buy":
            held.qty += qty
            held.cost += price * qty
            self.cash -= price * qty
        else:
            held.cost -= held.avg_price * qty if held.qty else Decimal(0)
            held.qty -= qty
            self.cash += price * qty
        if not held.qty:
            del self.positions[order.symbol]
        order.filled_qty, order.filled_avg_price = order.qty, price
        order.status, order.filled_at, order.updated_at = "filled", at, at
        self._closed(order)
        self._emit("fill", order, at, {"price": price, "qty": qty, "position_qty": held.qty})

    def _parse(self, body: Mapping[str, Any], now: datetime) -> SimOrder:
        try:
            symbol, side = str(body["symbol"]).upper(), str(body["side"])
            qty = Decimal(str(body["qty"]))
            kind, tif = str(body.get("type", "market")), str(body.get("time_in_force", "day"))
        except (KeyError, InvalidOperation) as exc:
            raise OrderError(422, 40010001, f"invalid order: {exc}") from None
        if symbol not in self._symbols:
            raise OrderError(422, 40010001, f"asset {symbol} not found")
        if side not in ("buy", "sell") or kind not in ("market", "limit", "stop"):
            raise OrderError(422, 40010001, f"unsupported side {side!r} or type {kind!r}")
        if qty <= 0 or qty != qty.to_integral_value():
            raise OrderError(422, 40010001, "qty must be a positive whole number")
        order_class = str(body.get("order_class") or "simple")
        limit, stop = _price(body.get("limit_price")), _price(body.get("stop_price"))
        if order_class == "oco":
            limit = _price((body.get("take_profit") or {}).get("limit_price")) or limit
            stop = _price((body.get("stop_loss") or {}).get("stop_price"))
            if limit is None or stop is None:
                raise OrderError(422, 40010001, "oco orders need take_profit and stop_loss")
        elif order_class != "simple":
            raise OrderError(422, 40010001, f"order_class {order_class} is not simulated")
        if (kind == "limit" and limit is None) or (kind == "stop" and stop is None):
            raise OrderError(422, 40010001, f"{kind} orders need a {kind}_price")
        client_id = str(body.get("client_order_id") or self.new_id())
        if len(client_id) > 128:
            raise OrderError(422, 40010001, "client_order_id must be at most 128 characters")
        return SimOrder(
            self.new_id(), client_id, symbol, side, int(qty), kind, tif, now,
            limit_price=limit, stop_price=stop, order_class=order_class,
            leg_id=self.new_id() if order_class == "oco" else None,
        )  # fmt: skip

    def _opened(self, order: SimOrder) -> None:
        self.open[order.id] = order
        self._open_by_symbol.setdefault(order.symbol, {})[order.id] = order
        if order.side == "buy":
            self._open_buys[order.id] = order

    def _closed(self, order: SimOrder) -> None:
        del self.open[order.id]
        del self._open_by_symbol[order.symbol][order.id]
        self._open_buys.pop(order.id, None)

    def _check_funds(self, order: SimOrder) -> None:
        if order.side == "sell":
            held = self.positions.get(order.symbol, Holding()).qty
            committed = sum(
                o.qty - o.filled_qty
                for o in self._open_by_symbol.get(order.symbol, {}).values()
                if o.side == "sell"
            )
            if order.qty > held - committed:
                raise OrderError(403, 40310000, "insufficient qty available for order")
            return
        price = order.limit_price or self.marks.get(order.symbol) or Decimal(0)
        reserved = sum(
            (o.limit_price or self.marks.get(o.symbol) or Decimal(0)) * (o.qty - o.filled_qty)
            for o in self._open_buys.values()
        )
        if price * order.qty > self.cash - reserved:
            raise OrderError(403, 40310000, "insufficient buying power")


def fill_price(order: SimOrder, bar: Bar, intrabar: bool) -> Decimal | None:
    """Replay's fill rules (`domain.fills`), without slippage: Alpaca charges no commission and
    we model none."""
    buying = order.side == "buy"
    if order.type == "market":
        fill: Fill | None = market_fill(bar)
    elif order.order_class == "oco" or order.type == "stop":
        target = order.limit_price if order.order_class == "oco" else None
        fill = exit_fill(bar, buying, order.stop_price, target, intrabar)
    else:
        assert order.limit_price is not None
        fill = limit_fill(bar, buying, order.limit_price)
    return None if fill is None else fill[0]


def _price(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise OrderError(422, 40010001, f"invalid price {value!r}") from None
