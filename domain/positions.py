"""A bot's holdings and working orders: the mutable state its events build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.orders import Intent, OrderType, Side


@dataclass(slots=True)
class Position:
    """A long holding in one symbol; `cost` includes buy fees, so realised P&L is net of them."""

    symbol: str
    qty: int
    cost: Decimal
    opened_at: datetime
    realized: Decimal = Decimal(0)
    bought_qty: int = 0
    bought_cost: Decimal = Decimal(0)
    closed_qty: int = 0
    sold_value: Decimal = Decimal(0)

    @property
    def avg_price(self) -> Decimal:
        """Average cost per share still held (fees included)."""
        return self.cost / self.qty if self.qty else Decimal(0)

    @property
    def avg_entry(self) -> Decimal:
        return self.bought_cost / self.bought_qty if self.bought_qty else Decimal(0)

    @property
    def avg_exit(self) -> Decimal:
        return self.sold_value / self.closed_qty if self.closed_qty else Decimal(0)

    def cost_of(self, qty: int) -> Decimal:
        """Cost basis of `qty` shares, taking the remainder exactly when the position closes."""
        return self.cost if qty == self.qty else self.cost * qty / self.qty


@dataclass(slots=True)
class WorkingOrder:
    """An order the broker has not finished with; a buy holds back `reserved` cash until it is."""

    client_order_id: str
    symbol: str
    side: Side
    qty: int
    order_type: OrderType
    intent: Intent
    limit_price: Decimal | None
    stop_price: Decimal | None
    reserved: Decimal
    filled_qty: int = 0
    accepted: bool = False

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty
