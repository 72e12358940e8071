"""rm_positions: each bot's open holdings at cost (buy fees included), as the aggregate keeps them.

A row appears with the first buy fill and goes when PositionClosed is applied; in between its
cost follows the aggregate's rule (pro rata on partial sells, the remainder on the last one).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.bot import Bot
from domain.orders import Side
from projections.base import Projection, cost_of, dec, iso
from projections.batch import Batch


class PositionsProjection(Projection):
    name = "positions"
    tables = ("rm_positions",)
    cached = (("rm_positions", ("bot_id", "symbol")),)
    handles = (Bot.OrderFilled, Bot.OrderPartiallyFilled, Bot.PositionClosed)
    ddl = (
        """CREATE TABLE IF NOT EXISTS rm_positions (
            bot_id TEXT NOT NULL, symbol TEXT NOT NULL, qty INTEGER NOT NULL,
            avg_price TEXT NOT NULL, cost TEXT NOT NULL, opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, PRIMARY KEY (bot_id, symbol))""",
        "CREATE INDEX IF NOT EXISTS rm_positions_symbol ON rm_positions (symbol)",
    )

    def on_OrderFilled(self, batch: Batch, event: Any, _: int) -> None:
        bot_id, at = str(event.originator_id), iso(event.timestamp)
        row = batch["rm_positions"].find(bot_id, event.symbol)
        if row is None:
            if event.side is Side.SELL:
                raise LookupError(f"sell fill without a position: bot {bot_id} {event.symbol}")
            row = {"bot_id": bot_id, "symbol": event.symbol, "qty": 0, "cost": "0", "opened_at": at}
        qty, cost = row["qty"], dec(row["cost"])
        if event.side is Side.BUY:
            qty, cost = qty + event.qty, cost + event.price * event.qty + event.fee
        else:
            qty, cost = qty - event.qty, cost - cost_of(event.qty, qty, cost)
        row |= {
            "qty": qty,
            "cost": str(cost),
            "avg_price": str(cost / qty if qty else Decimal(0)),
            "updated_at": at,
        }
        batch["rm_positions"].put(row)

    on_OrderPartiallyFilled = on_OrderFilled

    def on_PositionClosed(self, batch: Batch, event: Bot.PositionClosed, _: int) -> None:
        batch["rm_positions"].delete(str(event.originator_id), event.symbol)
