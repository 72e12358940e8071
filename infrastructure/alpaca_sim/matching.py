"""The simulator's exchange: one account, its orders and positions, matched against bars.

Fill rules are replay's (`infrastructure/sim_broker.py`, `pricing.fill_price`), so a session
traded through the server fills like its replay. An order meets only prices after it arrives: the
bar in progress when it arrives, then each new bar from its open. Bars are all the simulator
knows of prices, so "after it arrives" reads as follows: a market or limit order arriving mid-bar
meets that bar whole (its open included: the minute's trades are not ordered), as replay fills an
order sent on a bar at that bar's open; an OCO arriving mid-bar meets the rest of that bar (all
but its open: it is sent right after its entry filled at that open), then each new bar from its
open. Market orders fill at the open; limits at the open when marketable, else at the limit if
the bar trades through it; an OCO checks its stop-loss leg first (a gap through it fills at the
open).

An OCO is a group (see `orders`): when its stop-loss leg fills, the parent (the take-profit) is
canceled first and then the leg fills, with trade updates "canceled" (parent) and "fill" (leg);
when the take-profit fills, the parent's "fill" is followed by the leg's "canceled". A cancel or
expiry of either ends both, with an update for each.

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
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.bars import Bar
from infrastructure.alpaca_sim.order_requests import OrderError, parse_order
from infrastructure.alpaca_sim.orders import SimOrder
from infrastructure.alpaca_sim.pricing import fill_price, race_price

Emit = Callable[[str, SimOrder, datetime, Mapping[str, Any]], None]
MarketOpen = Callable[[datetime], bool]


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
        self.orders: dict[UUID, SimOrder] = {}  # simple orders and OCO parents
        self.legs: dict[UUID, SimOrder] = {}  # OCO legs, found by id but listed under parents
        self.by_client: dict[str, SimOrder] = {}  # both
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

    def find(self, order_id: UUID) -> SimOrder | None:
        return self.orders.get(order_id) or self.legs.get(order_id)

    def submit(self, body: Mapping[str, Any], now: datetime) -> SimOrder:
        order = parse_order(body, now, self._symbols, self.new_id)
        if any(o.client_order_id in self.by_client for o in order.group):
            raise OrderError(422, 40010001, "client_order_id must be unique")
        self._check_funds(order)
        self.orders[order.id] = self.by_client[order.client_order_id] = order
        for leg in order.legs:
            self.legs[leg.id] = self.by_client[leg.client_order_id] = leg
        self._opened(order)
        routed = self._market_open(now)
        order.status = "new" if routed else "accepted"
        self._emit(order.status, order, now, {})
        if self.reject_next > 0:
            self.reject_next -= 1
            for member in order.group:
                member.status, member.failed_at, member.updated_at = "rejected", now, now
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
        """Cancel (or expire) an order; a leg's or a parent's cancel ends its whole group."""
        group = order.parent or order
        if group.id not in self.open:
            raise OrderError(422, 42210000, f"order is {order.status} and cannot be canceled")
        self._closed(group)
        self.queued.pop(group.id, None)
        for member in group.group:
            if member.is_open:
                self._end(member, event, now)

    def fill_now(self, order: SimOrder, now: datetime) -> bool:
        """The `fill_on_cancel` fault: the order (its group) fills as its cancel arrives.

        Priced by `pricing.race_price`; an order not routed (taken while the market was closed)
        or without any price known does not fill.
        """
        group = order.parent or order
        if group.id not in self.open or group.id in self.queued:
            return False
        bar = self._current.get(group.symbol)
        in_progress = bar if bar is not None and bar.timestamp <= now < bar.closed_at else None
        execution = race_price(group, in_progress, self.marks.get(group.symbol))
        if execution is None:
            return False
        self._execute(group, *execution, at=now)
        return True

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
        execution = fill_price(order, bar, intrabar)
        if execution is not None:
            self._execute(order, *execution, at=at)

    def _execute(self, group: SimOrder, price: Decimal, member: SimOrder, at: datetime) -> None:
        """`member` of `group` fills whole at `price`; the group's other orders are canceled."""
        self._closed(group)
        others = [o for o in group.group if o is not member and o.is_open]
        if member is not group:  # a stop leg triggered: the take-profit goes first
            member.status = "new"
            for other in others:
                self._end(other, "canceled", at)
        self._fill(member, price, at)
        if member is group:
            for other in others:
                self._end(other, "canceled", at)

    def _end(self, order: SimOrder, event: str, at: datetime) -> None:
        order.status, order.updated_at = event, at
        if event == "expired":
            order.expired_at = at
        else:
            order.canceled_at = at
        self._emit(event, order, at, {})

    def _fill(self, order: SimOrder, price: Decimal, at: datetime) -> None:
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
        self._emit("fill", order, at, {"price": price, "qty": qty, "position_qty": held.qty})

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
