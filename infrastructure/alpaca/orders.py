"""Translation between Openbell's order vocabulary and alpaca-py's requests and orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)

from application.live_ports import BrokerOrder
from domain.orders import OrderRequest, OrderType, Side

# Alpaca's statuses after which an order fills no more ("stopped" is not one: a trade is
# guaranteed for a stopped order, it has not happened yet).
TERMINAL = frozenset({"filled", "canceled", "expired", "rejected", "done_for_day", "replaced"})


def to_alpaca(request: OrderRequest) -> Any:
    """Day orders; a one-cancels-other exit is Alpaca's `oco` class (take-profit + stop-loss)."""
    common: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": request.qty,
        "side": OrderSide.BUY if request.side is Side.BUY else OrderSide.SELL,
        "time_in_force": TimeInForce.DAY,
        "client_order_id": request.client_order_id,
    }
    limit, stop = _float(request.limit_price), _float(request.stop_price)
    if request.order_type is OrderType.MARKET:
        return MarketOrderRequest(**common)
    if request.order_type is OrderType.LIMIT:
        return LimitOrderRequest(limit_price=limit, **common)
    if limit is not None and stop is not None:
        return LimitOrderRequest(
            order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=limit),
            stop_loss=StopLossRequest(stop_price=stop),
            **common,
        )
    if stop is not None:
        return StopOrderRequest(stop_price=stop, **common)
    return LimitOrderRequest(limit_price=limit, **common)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def decimal_of(value: Any) -> Decimal:
    """Alpaca sends prices and quantities as strings (sometimes floats): exact Decimals."""
    if value is None or value == "":
        return Decimal(0)
    return Decimal(value if isinstance(value, str) else repr(float(value)))


def broker_order_of(order: OrderSnapshot) -> BrokerOrder:
    """An order as the application's BrokerOrder; an OCO as one order, its legs rolled up.

    The engine knows an OCO as one order under its client id: its fills are those of the parent
    (the take-profit) and of the stop-loss leg together, and it is open while either is. The
    parent alone reads "canceled", nothing filled, once the stop-loss has sold everything.
    """
    group = order.group
    filled = sum(o.filled_qty for o in group)
    cost = sum((o.filled_avg_price * o.filled_qty for o in group), Decimal(0))
    open_status = next((o.status for o in group if o.status not in TERMINAL), None)
    status = "filled" if filled >= order.qty else open_status or order.status
    return BrokerOrder(
        client_order_id=order.client_order_id,
        broker_order_id=order.id,
        symbol=order.symbol,
        side=order.side,
        status=status,
        qty=order.qty,
        filled_qty=filled,
        filled_avg_price=cost / filled if filled else Decimal(0),
    )


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """An order as Alpaca showed it once: the fields the broker reads, from either source.

    From the trade-updates stream's raw JSON (`of`: the stream runs with alpaca-py's `raw_data`,
    as building its pydantic models for every update was most of the stream's work) or from
    an alpaca-py Order a REST call returned (`of_model`). An OCO's parent lists its leg in `legs`.
    """

    id: str
    client_order_id: str
    symbol: str
    side: str
    status: str
    qty: int
    filled_qty: int
    filled_avg_price: Decimal
    filled_at: datetime | None
    order_class: str = ""
    legs: tuple[OrderSnapshot, ...] = ()

    @property
    def is_oco(self) -> bool:
        return self.order_class == "oco"

    @property
    def group(self) -> tuple[OrderSnapshot, ...]:
        return (self, *self.legs)

    @classmethod
    def of(cls, data: dict[str, Any]) -> OrderSnapshot:
        return cls(
            str(data["id"]),
            str(data["client_order_id"]),
            str(data["symbol"]),
            str(data.get("side") or ""),
            str(data["status"]),
            int(decimal_of(data.get("qty"))),
            int(decimal_of(data.get("filled_qty"))),
            decimal_of(data.get("filled_avg_price")),
            parse_moment(data.get("filled_at")),
            str(data.get("order_class") or ""),
            tuple(cls.of(leg) for leg in data.get("legs") or ()),
        )

    @classmethod
    def of_model(cls, order: Any) -> OrderSnapshot:
        """From an alpaca-py Order."""
        filled_at = getattr(order, "filled_at", None)
        return cls(
            str(order.id),
            str(order.client_order_id),
            str(order.symbol),
            _value(order.side),
            _value(order.status),
            int(decimal_of(order.qty)),
            int(decimal_of(order.filled_qty)),
            decimal_of(order.filled_avg_price),
            filled_at if isinstance(filled_at, datetime) else None,
            _value(order.order_class),
            tuple(cls.of_model(leg) for leg in order.legs or ()),
        )


def _value(field: Any) -> str:
    """An alpaca-py enum's wire value (or the plain string a raw answer holds)."""
    return "" if field is None else str(getattr(field, "value", field))


def parse_moment(text: Any) -> datetime | None:
    """Alpaca's RFC 3339 times ("...Z", sometimes with nanoseconds) as aware datetimes."""
    if not text:
        return None
    text = str(text).replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # at most microseconds for fromisoformat
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
    return datetime.fromisoformat(head + dot + rest)
