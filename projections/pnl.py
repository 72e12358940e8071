"""rm_daily_pnl and rm_equity: realised P&L per New York trading day, and the realised equity curve.

Realised P&L is booked on sell fills (net of fees and cost basis), fees on every fill, round trips
(trades, wins, losses) on PositionClosed. The curve is capital + cumulative realised P&L: a point
when the bot is created, after each PositionClosed and when a config change moves its capital.
rm_pnl_state carries each bot's capital, cumulative realised P&L and last curve point.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.bot import Bot
from domain.orders import Side
from projections.base import Projection, dec, iso, ny_day
from projections.batch import Batch
from projections.db import Row


class PnlProjection(Projection):
    name = "pnl"
    tables = ("rm_daily_pnl", "rm_equity", "rm_pnl_state")
    cached = (
        ("rm_daily_pnl", ("bot_id", "day")),
        ("rm_pnl_state", ("bot_id",)),
        ("rm_equity", ("bot_id", "seq")),
    )
    handles = (
        Bot.Created,
        Bot.ConfigChanged,
        Bot.OrderFilled,
        Bot.OrderPartiallyFilled,
        Bot.PositionClosed,
    )
    ddl = (
        """CREATE TABLE IF NOT EXISTS rm_daily_pnl (
            bot_id TEXT NOT NULL, day TEXT NOT NULL, realized_pnl TEXT NOT NULL,
            fees TEXT NOT NULL, trades INTEGER NOT NULL, wins INTEGER NOT NULL,
            losses INTEGER NOT NULL, gross_profit TEXT NOT NULL, gross_loss TEXT NOT NULL,
            PRIMARY KEY (bot_id, day))""",
        "CREATE INDEX IF NOT EXISTS rm_daily_pnl_day ON rm_daily_pnl (day)",
        """CREATE TABLE IF NOT EXISTS rm_equity (
            bot_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL,
            equity TEXT NOT NULL, PRIMARY KEY (bot_id, seq))""",
        """CREATE TABLE IF NOT EXISTS rm_pnl_state (
            bot_id TEXT PRIMARY KEY, capital TEXT NOT NULL, realized_pnl TEXT NOT NULL,
            seq INTEGER NOT NULL)""",
    )

    def on_Created(self, batch: Batch, event: Bot.Created, _: int) -> None:
        bot_id, capital = str(event.originator_id), event.config["capital"]
        state = {"bot_id": bot_id, "capital": capital, "realized_pnl": "0", "seq": 0}
        batch["rm_pnl_state"].put(state)
        self._point(batch, state, event.timestamp)

    def on_ConfigChanged(self, batch: Batch, event: Bot.ConfigChanged, _: int) -> None:
        state = batch["rm_pnl_state"].get(str(event.originator_id))
        capital = Decimal(event.config["capital"])
        if capital != dec(state["capital"]):
            state["capital"], state["seq"] = str(capital), state["seq"] + 1
            self._point(batch, state, event.timestamp)

    def on_OrderFilled(self, batch: Batch, event: Any, _: int) -> None:
        bot_id = str(event.originator_id)
        day = self._day(batch, bot_id, event.timestamp)
        day["fees"] = str(dec(day["fees"]) + event.fee)
        if event.side is Side.SELL and event.realized_pnl is not None:
            day["realized_pnl"] = str(dec(day["realized_pnl"]) + event.realized_pnl)
            state = batch["rm_pnl_state"].get(bot_id)
            state["realized_pnl"] = str(dec(state["realized_pnl"]) + event.realized_pnl)

    on_OrderPartiallyFilled = on_OrderFilled

    def on_PositionClosed(self, batch: Batch, event: Bot.PositionClosed, _: int) -> None:
        bot_id, pnl = str(event.originator_id), event.realized_pnl
        day = self._day(batch, bot_id, event.timestamp)
        day["trades"] += 1
        if pnl > 0:
            day["wins"] += 1
            day["gross_profit"] = str(dec(day["gross_profit"]) + pnl)
        elif pnl < 0:
            day["losses"] += 1
            day["gross_loss"] = str(dec(day["gross_loss"]) + pnl)
        state = batch["rm_pnl_state"].get(bot_id)
        state["seq"] += 1
        self._point(batch, state, event.timestamp)

    @staticmethod
    def _point(batch: Batch, state: Row, at: datetime) -> None:
        equity = dec(state["capital"]) + dec(state["realized_pnl"])
        point = {"bot_id": state["bot_id"], "seq": state["seq"], "at": iso(at)}
        batch["rm_equity"].put(point | {"equity": str(equity)})

    @staticmethod
    def _day(batch: Batch, bot_id: str, at: datetime) -> Row:
        day = ny_day(at)
        if batch["rm_daily_pnl"].find(bot_id, day) is None:
            zero = {"realized_pnl": "0", "fees": "0", "gross_profit": "0", "gross_loss": "0"}
            counts = {"trades": 0, "wins": 0, "losses": 0}
            batch["rm_daily_pnl"].put({"bot_id": bot_id, "day": day} | zero | counts)
        return batch["rm_daily_pnl"].get(bot_id, day)
