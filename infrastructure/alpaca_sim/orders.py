"""Orders as the simulator keeps them, and their Alpaca JSON shape.

An OCO is a group, as at Alpaca: the parent is the take-profit limit and carries the bot's
client_order_id; its one leg is the stop-loss, a stop order of its own with its own id and a
client_order_id the simulator generates (a UUID, as Alpaca gives legs; never derived from the
parent's, so nothing can rely on a naming rule). The leg waits "held" while the parent rests.
Exactly one of the two fills; the other is canceled. The parent's JSON nests the leg under
`legs`; a trade update about the leg carries the leg's own JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c55a2-8c54-4d1e-9d5e-2b4f0d1f7a11")
OPEN_STATUSES = frozenset({"new", "accepted", "partially_filled", "pending_new", "held"})


@cache
def asset_id(symbol: str) -> UUID:
    return uuid5(NAMESPACE, f"asset:{symbol}")


@dataclass(slots=True)
class SimOrder:
    """One order; an "oco" parent (the take-profit limit) holds its stop-loss leg in `legs`."""

    id: UUID
    client_order_id: str
    symbol: str
    side: str
    qty: int
    type: str
    time_in_force: str
    created_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    order_class: str = "simple"
    status: str = "new"
    filled_qty: int = 0
    filled_avg_price: Decimal | None = None
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    legs: list[SimOrder] = field(default_factory=list, repr=False)
    parent: SimOrder | None = field(default=None, repr=False)
    # The market moment it was matched against first (an OCO then meets the rest of that bar).
    placed_in: datetime | None = field(default=None, repr=False)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def group(self) -> list[SimOrder]:
        """The orders that live and end together: a parent and its legs."""
        return [self, *self.legs]

    def to_json(self) -> dict[str, Any]:
        body = _base(self, self.updated_at or self.created_at)
        if self.legs:
            body["legs"] = [leg.to_json() for leg in self.legs]
        return body


def _base(order: SimOrder, updated: datetime) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "client_order_id": order.client_order_id,
        "created_at": _iso(order.created_at),
        "updated_at": _iso(updated),
        "submitted_at": _iso(order.created_at),
        "filled_at": _iso(order.filled_at),
        "expired_at": _iso(order.expired_at),
        "expires_at": None,
        "canceled_at": _iso(order.canceled_at),
        "failed_at": _iso(order.failed_at),
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": str(asset_id(order.symbol)),
        "symbol": order.symbol,
        "asset_class": "us_equity",
        "notional": None,
        "qty": str(order.qty),
        "filled_qty": str(order.filled_qty),
        "filled_avg_price": _text(order.filled_avg_price),
        "order_class": "" if order.order_class == "simple" else order.order_class,
        "order_type": order.type,
        "type": order.type,
        "side": order.side,
        "position_intent": "buy_to_open" if order.side == "buy" else "sell_to_close",
        "time_in_force": order.time_in_force,
        "limit_price": _text(order.limit_price),
        "stop_price": _text(order.stop_price),
        "status": order.status,
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
