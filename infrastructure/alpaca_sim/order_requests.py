"""A POST /v2/orders body read into a SimOrder, refused as Alpaca refuses what it cannot take.

Simple orders (market, limit, stop) and "oco" exits are simulated. Brackets, OTO and trailing
stops are refused with a 422: the engine never sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from infrastructure.alpaca_sim.orders import SimOrder


class OrderError(Exception):
    """A request Alpaca would refuse: HTTP status, Alpaca's error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_order(
    body: Mapping[str, Any], now: datetime, symbols: Collection[str], new_id: Callable[[], UUID]
) -> SimOrder:
    try:
        symbol, side = str(body["symbol"]).upper(), str(body["side"])
        qty = Decimal(str(body["qty"]))
        kind, tif = str(body.get("type", "market")), str(body.get("time_in_force", "day"))
    except (KeyError, InvalidOperation) as exc:
        raise OrderError(422, 40010001, f"invalid order: {exc}") from None
    if symbol not in symbols:
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
    client_id = str(body.get("client_order_id") or new_id())
    if len(client_id) > 128:
        raise OrderError(422, 40010001, "client_order_id must be at most 128 characters")
    if order_class == "oco":
        return _oco(new_id, client_id, symbol, side, int(qty), tif, now, limit, stop)
    return SimOrder(
        new_id(), client_id, symbol, side, int(qty), kind, tif, now,
        limit_price=limit, stop_price=stop,
    )  # fmt: skip


def _oco(
    new_id: Callable[[], UUID], client_id: str, symbol: str, side: str, qty: int, tif: str,
    now: datetime, limit: Decimal | None, stop: Decimal | None,
) -> SimOrder:  # fmt: skip
    """The take-profit limit as the parent, the stop-loss as its leg (as Alpaca shows an OCO)."""
    parent = SimOrder(
        new_id(), client_id, symbol, side, qty, "limit", tif, now,
        limit_price=limit, order_class="oco",
    )  # fmt: skip
    leg = SimOrder(
        new_id(), str(new_id()), symbol, side, qty, "stop", tif, now,
        stop_price=stop, order_class="oco", status="held", parent=parent,
    )  # fmt: skip
    parent.legs.append(leg)
    return parent


def _price(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise OrderError(422, 40010001, f"invalid price {value!r}") from None
