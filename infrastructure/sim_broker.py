"""A deterministic simulated broker: fills resting orders against each new bar.

Where an order fills is `domain.fills` (market orders at the next bar's open, limits at the open
or the limit, OCO exits stop leg first), the rule the Alpaca simulator uses too. Slippage moves
market and stop fills against the trader; commission is per share with a minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from application.ports import BrokerUpdate, Clock, UpdateKind
from domain.bars import Bar
from domain.fills import Fill, FillKind, exit_fill, limit_fill, market_fill, reach
from domain.orders import OrderRequest, OrderType, Side
from domain.units import CENT

BPS = Decimal("0.0001")

Resting = tuple[OrderRequest, Decimal, Decimal]  # the order, and `reach` of it


@dataclass(frozen=True, slots=True)
class SimulatorCosts:
    commission_per_share: Decimal = Decimal(0)
    commission_min: Decimal = Decimal(0)
    slippage_bps: Decimal = Decimal(0)


class SimulatedBroker:
    """The broker port for replay and the built-in simulator."""

    def __init__(self, clock: Clock, costs: SimulatorCosts | None = None) -> None:
        self.clock = clock
        self.costs = costs or SimulatorCosts()
        self._slip = self.costs.slippage_bps * BPS
        # Per symbol: each resting order with the low and high a bar must reach to fill it.
        self._resting: dict[str, list[Resting]] = {}
        self._bars: dict[str, Bar] = {}
        self._seen: set[str] = set()
        self._updates: list[BrokerUpdate] = []
        self._sequence = 0

    def estimate_fee(self, qty: int, price: Decimal) -> Decimal:
        if not self.costs.commission_per_share and not self.costs.commission_min:
            return Decimal(0)
        fee = max(self.costs.commission_per_share * qty, self.costs.commission_min)
        return fee.quantize(CENT, rounding=ROUND_HALF_UP)

    def submit(self, request: OrderRequest) -> None:
        now = self.clock.now()
        if request.client_order_id in self._seen:
            self._emit(UpdateKind.REJECTED, request, reason="client_order_id must be unique")
            return
        self._seen.add(request.client_order_id)
        self._sequence += 1
        self._emit(UpdateKind.ACCEPTED, request, broker_order_id=f"sim-{self._sequence:08d}")
        if request.order_type is OrderType.OCO and self._filled_in_current_bar(request, now):
            return
        buying = request.side is Side.BUY
        low, high = reach(request.order_type, buying, request.limit_price, request.stop_price)
        self._resting.setdefault(request.symbol, []).append((request, low, high))

    def _filled_in_current_bar(self, request: OrderRequest, now: datetime) -> bool:
        """An OCO sent at a bar's open (right after an entry fill) meets the rest of that bar."""
        bar = self._bars.get(request.symbol)
        return bar is not None and bar.timestamp == now and self._try_fill(request, bar, True)

    def cancel(self, client_order_id: str) -> None:
        for orders in self._resting.values():
            for entry in orders:
                if entry[0].client_order_id == client_order_id:
                    orders.remove(entry)
                    self._emit(UpdateKind.CANCELED, entry[0], reason="canceled by the bot")
                    return

    def observe(self, bar: Bar) -> None:
        self._bars[bar.symbol] = bar
        resting = self._resting.get(bar.symbol)
        if not resting:
            return
        # Most bars leave a resting stop and target untouched: two comparisons say so.
        low, high = bar.low, bar.high
        for _, reach_low, reach_high in resting:
            if low <= reach_low or high >= reach_high:
                break
        else:
            return
        self._resting[bar.symbol] = [r for r in resting if not self._try_fill(r[0], bar, False)]

    def poll_updates(self) -> list[BrokerUpdate]:
        updates, self._updates = self._updates, []
        return updates

    def _try_fill(self, order: OrderRequest, bar: Bar, intrabar: bool) -> bool:
        price = self._fill_price(order, bar, intrabar)
        if price is None:
            return False
        fee = self.estimate_fee(order.qty, price)
        self._emit(UpdateKind.FILLED, order, qty=order.qty, price=price, fee=fee)
        return True

    def _fill_price(self, order: OrderRequest, bar: Bar, intrabar: bool) -> Decimal | None:
        kind, buying = order.order_type, order.side is Side.BUY
        if kind is OrderType.MARKET:
            fill: Fill | None = market_fill(bar)
        elif kind is OrderType.LIMIT:
            assert order.limit_price is not None
            fill = limit_fill(bar, buying, order.limit_price)
        else:
            fill = exit_fill(bar, buying, order.stop_price, order.limit_price, intrabar)
        if fill is None:
            return None
        price, how = fill
        # Slippage moves what fills at the market against the trader; a limit is never worse.
        if how in (FillKind.MARKET, FillKind.STOP_GAP, FillKind.STOP):
            return self._slipped(price, buying)
        if how is FillKind.LIMIT_AT_OPEN:
            slipped = self._slipped(price, buying)
            assert order.limit_price is not None
            return min(slipped, order.limit_price) if buying else max(slipped, order.limit_price)
        return price

    def _slipped(self, price: Decimal, buying: bool) -> Decimal:
        if not self._slip:
            return price
        moved = price * (1 + self._slip) if buying else price * (1 - self._slip)
        return moved.quantize(CENT, rounding=ROUND_HALF_UP)

    def _emit(self, kind: UpdateKind, order: OrderRequest, **fields: object) -> None:
        self._updates.append(
            BrokerUpdate(kind, order.client_order_id, self.clock.now(), **fields)  # type: ignore[arg-type]
        )
