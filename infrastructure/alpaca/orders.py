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


def moment_of(order: Any, name: str) -> datetime | None:
    value = getattr(order, name, None)
    return value if isinstance(value, datetime) else None


def broker_order_of(order: Any) -> BrokerOrder:
    """An alpaca-py Order as the application's BrokerOrder."""
    return BrokerOrder(
        client_order_id=str(order.client_order_id),
        broker_order_id=str(order.id),
        symbol=str(order.symbol),
        side=str(getattr(order.side, "value", order.side)),
        status=str(getattr(order.status, "value", order.status)),
        qty=int(decimal_of(order.qty)),
        filled_qty=int(decimal_of(order.filled_qty)),
        filled_avg_price=decimal_of(order.filled_avg_price),
    )


@dataclass(frozen=True, slots=True)
class RawOrder:
    """The fields of a trade update's order the broker reads, from the stream's raw JSON.

    The trade-updates stream runs with alpaca-py's `raw_data`: building its pydantic models for
    every update cost a third of the stream's time, and the broker reads seven fields.
    """

    id: str
    client_order_id: str
    symbol: str
    status: str
    filled_qty: str
    filled_avg_price: str | None
    filled_at: datetime | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> RawOrder:
        return cls(
            str(data["id"]),
            str(data["client_order_id"]),
            str(data["symbol"]),
            str(data["status"]),
            str(data.get("filled_qty") or "0"),
            data.get("filled_avg_price"),
            parse_moment(data.get("filled_at")),
        )


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
