"""rm_trades: one row per fill, keyed by the fill event's notification id (stable on rebuild).

Each row carries the indicator snapshot of the bot's latest SignalGenerated for the same symbol
before the fill; those signals are kept in rm_trade_signals so a restarted runner still has them.
"""

from __future__ import annotations

from typing import Any

from domain.bot import Bot
from projections.base import Projection, dumps, iso, opt_text
from projections.batch import Batch


class TradesProjection(Projection):
    name = "trades"
    tables = ("rm_trades", "rm_trade_signals")
    cached = (("rm_trades", ("id",)), ("rm_trade_signals", ("bot_id", "symbol")))
    handles = (Bot.SignalGenerated, Bot.OrderFilled, Bot.OrderPartiallyFilled)
    ddl = (
        """CREATE TABLE IF NOT EXISTS rm_trades (
            id BIGINT PRIMARY KEY, bot_id TEXT NOT NULL, symbol TEXT NOT NULL,
            type TEXT NOT NULL, quantity INTEGER NOT NULL, price TEXT NOT NULL,
            timestamp TEXT NOT NULL, indicators_snapshot TEXT, profit_loss TEXT,
            order_id TEXT NOT NULL, fee TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS rm_trades_time ON rm_trades (timestamp, id)",
        "CREATE INDEX IF NOT EXISTS rm_trades_bot ON rm_trades (bot_id, timestamp, id)",
        "CREATE INDEX IF NOT EXISTS rm_trades_symbol ON rm_trades (symbol, timestamp, id)",
        # one bot's fills of one symbol (the dashboard's filter), newest first, without a scan
        "CREATE INDEX IF NOT EXISTS rm_trades_bot_symbol"
        " ON rm_trades (bot_id, symbol, timestamp, id)",
        "CREATE INDEX IF NOT EXISTS rm_trades_type ON rm_trades (type, timestamp, id)",
        "CREATE INDEX IF NOT EXISTS rm_trades_order ON rm_trades (order_id)",
        """CREATE TABLE IF NOT EXISTS rm_trade_signals (
            bot_id TEXT NOT NULL, symbol TEXT NOT NULL, snapshot TEXT NOT NULL,
            PRIMARY KEY (bot_id, symbol))""",
    )

    def on_SignalGenerated(self, batch: Batch, event: Bot.SignalGenerated, _: int) -> None:
        snapshot = dumps(
            {
                "indicators": event.indicators,
                "rule": event.rule,
                "side": event.side.value,
                "bar_time": event.bar_time,
            }
        )
        row = {"bot_id": str(event.originator_id), "symbol": event.symbol, "snapshot": snapshot}
        batch["rm_trade_signals"].put(row)

    def on_OrderFilled(self, batch: Batch, event: Any, notification_id: int) -> None:
        bot_id = str(event.originator_id)
        signal = batch["rm_trade_signals"].find(bot_id, event.symbol)
        batch["rm_trades"].put(
            {
                "id": notification_id,
                "bot_id": bot_id,
                "symbol": event.symbol,
                "type": event.side.value,
                "quantity": event.qty,
                "price": str(event.price),
                "timestamp": iso(event.timestamp),
                "indicators_snapshot": signal["snapshot"] if signal else None,
                "profit_loss": opt_text(event.realized_pnl),
                "order_id": event.client_order_id,
                "fee": str(event.fee),
            },
        )

    on_OrderPartiallyFilled = on_OrderFilled
