"""rm_orders: every order a bot submitted and where the broker left it.

Status moves submitted -> accepted -> partially_filled -> filled, or ends canceled / rejected.
`fill_value` (sum of price x qty over fills) is kept so `avg_fill_price` stays exact.
"""

from __future__ import annotations

from typing import Any

from domain.bot import Bot
from projections.base import Projection, dec, iso, opt_text
from projections.batch import Batch
from projections.db import Row

TERMINAL = ("filled", "canceled", "rejected")


class OrdersProjection(Projection):
    name = "orders"
    tables = ("rm_orders",)
    cached = (("rm_orders", ("client_order_id",)),)
    handles = (
        Bot.OrderSubmitted,
        Bot.OrderAccepted,
        Bot.OrderRejected,
        Bot.OrderCanceled,
        Bot.OrderFilled,
        Bot.OrderPartiallyFilled,
    )
    ddl = (
        """CREATE TABLE IF NOT EXISTS rm_orders (
            client_order_id TEXT PRIMARY KEY, bot_id TEXT NOT NULL, symbol TEXT NOT NULL,
            side TEXT NOT NULL, qty INTEGER NOT NULL, order_type TEXT NOT NULL,
            intent TEXT NOT NULL, limit_price TEXT, stop_price TEXT, reserved TEXT NOT NULL,
            status TEXT NOT NULL, filled_qty INTEGER NOT NULL, avg_fill_price TEXT,
            fill_value TEXT NOT NULL, fees TEXT NOT NULL, broker_order_id TEXT, reason TEXT,
            submitted_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS rm_orders_bot ON rm_orders (bot_id, submitted_at)",
        "CREATE INDEX IF NOT EXISTS rm_orders_status ON rm_orders (status)",
        "CREATE INDEX IF NOT EXISTS rm_orders_submitted ON rm_orders (submitted_at)",
    )

    def on_OrderSubmitted(self, batch: Batch, event: Bot.OrderSubmitted, _: int) -> None:
        at = iso(event.timestamp)
        # An id is deterministic per decision; if one is ever submitted again it starts afresh.
        batch["rm_orders"].put(
            {
                "client_order_id": event.client_order_id,
                "bot_id": str(event.originator_id),
                "symbol": event.symbol,
                "side": event.side.value,
                "qty": event.qty,
                "order_type": event.order_type.value,
                "intent": event.intent.value,
                "limit_price": opt_text(event.limit_price),
                "stop_price": opt_text(event.stop_price),
                "reserved": str(event.reserved),
                "status": "submitted",
                "filled_qty": 0,
                "avg_fill_price": None,
                "fill_value": "0",
                "fees": "0",
                "broker_order_id": None,
                "reason": None,
                "submitted_at": at,
                "updated_at": at,
            }
        )

    def on_OrderAccepted(self, batch: Batch, event: Bot.OrderAccepted, _: int) -> None:
        row = self._order(batch, event)
        row["broker_order_id"] = event.broker_order_id
        if row["status"] == "submitted":
            row["status"] = "accepted"

    def on_OrderRejected(self, batch: Batch, event: Bot.OrderRejected, _: int) -> None:
        row = self._order(batch, event)
        row["status"], row["reason"] = "rejected", event.reason

    def on_OrderCanceled(self, batch: Batch, event: Bot.OrderCanceled, _: int) -> None:
        row = self._order(batch, event)
        row["status"], row["reason"] = "canceled", event.reason

    def on_OrderFilled(self, batch: Batch, event: Any, _: int) -> None:
        row = self._order(batch, event)
        value = dec(row["fill_value"]) + event.price * event.qty
        row["fill_value"] = str(value)
        row["filled_qty"] = event.filled_qty
        row["avg_fill_price"] = str(value / event.filled_qty)
        row["fees"] = str(dec(row["fees"]) + event.fee)
        row["status"] = "filled" if event.remaining_qty == 0 else "partially_filled"

    on_OrderPartiallyFilled = on_OrderFilled

    @staticmethod
    def _order(batch: Batch, event: Any) -> Row:
        row = batch["rm_orders"].get(event.client_order_id)
        row["updated_at"] = iso(event.timestamp)
        return row
