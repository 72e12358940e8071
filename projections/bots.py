"""rm_bots: one row per bot with its status, config, cash, equity at cost and realised P&L.

It consumes every Bot event so `version` and `updated_at` follow the aggregate exactly. The
per-symbol holdings it needs for equity at cost live in rm_bot_holdings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.bot import Bot, BotStatus
from domain.orders import Side
from projections.base import BOT_EVENTS, Projection, cost_of, dec, dumps, iso, ny_day
from projections.batch import Batch
from projections.db import Row

STATUS_AFTER: dict[type, BotStatus] = {
    Bot.Started: BotStatus.RUNNING,
    Bot.Paused: BotStatus.PAUSED,
    Bot.Resumed: BotStatus.RUNNING,
    Bot.Stopped: BotStatus.STOPPED,
    Bot.Errored: BotStatus.ERRORED,
    Bot.Archived: BotStatus.ARCHIVED,
}


class BotsProjection(Projection):
    name = "bots"
    tables = ("rm_bots", "rm_bot_holdings")
    cached = (("rm_bots", ("id",)), ("rm_bot_holdings", ("bot_id", "symbol")))
    handles = BOT_EVENTS
    ddl = (
        """CREATE TABLE IF NOT EXISTS rm_bots (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL,
            capital TEXT NOT NULL, cash TEXT NOT NULL, equity TEXT NOT NULL,
            open_positions INTEGER NOT NULL, realized_pnl TEXT NOT NULL, fees TEXT NOT NULL,
            today TEXT, today_pnl TEXT NOT NULL, last_signal TEXT, trades INTEGER NOT NULL,
            halted_on TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            version BIGINT NOT NULL, status_reason TEXT)""",
        "CREATE INDEX IF NOT EXISTS rm_bots_created ON rm_bots (created_at, id)",
        "CREATE INDEX IF NOT EXISTS rm_bots_status ON rm_bots (status)",
        """CREATE TABLE IF NOT EXISTS rm_bot_holdings (
            bot_id TEXT NOT NULL, symbol TEXT NOT NULL, qty INTEGER NOT NULL,
            cost TEXT NOT NULL, PRIMARY KEY (bot_id, symbol))""",
    )

    def __init__(self) -> None:
        super().__init__()
        # Every event moves version and updated_at; some change more (see _apply_event).
        self._handlers = dict.fromkeys(self.handles, self._apply_event)

    def _apply_event(self, batch: Batch, event: Any, _: int) -> None:
        if isinstance(event, Bot.Created):
            row = batch["rm_bots"].put(_new_row(event))
        else:
            row = batch["rm_bots"].get(str(event.originator_id))
        if type(event) in STATUS_AFTER:
            row["status"] = STATUS_AFTER[type(event)].value
            # Why it stopped or errored (e.g. a reconciliation difference); gone once it runs.
            row["status_reason"] = getattr(event, "reason", None)
        elif isinstance(event, Bot.ConfigChanged):
            capital = Decimal(event.config["capital"])
            row["cash"] = str(dec(row["cash"]) + capital - dec(row["capital"]))
            row["capital"], row["name"] = str(capital), event.config["name"]
            row["config"] = dumps(event.config)
        elif isinstance(event, Bot.SignalGenerated):
            row["last_signal"] = _signal(event)
        elif isinstance(event, Bot.DailyLossLimitReached):
            row["halted_on"] = event.day.isoformat()
        elif isinstance(event, Bot.OrderFilled):  # and OrderPartiallyFilled
            self._fill(batch, event, row)
        elif isinstance(event, Bot.PositionClosed):
            batch["rm_bot_holdings"].delete(row["id"], event.symbol)
            row["trades"] += 1
        row["updated_at"] = iso(event.timestamp)
        row["version"] = event.originator_version

    @staticmethod
    def _fill(batch: Batch, event: Bot.OrderFilled, row: Row) -> None:
        notional = event.price * event.qty
        held = batch["rm_bot_holdings"].find(row["id"], event.symbol)
        qty, cost = (held["qty"], dec(held["cost"])) if held else (0, Decimal(0))
        day = ny_day(event.timestamp)
        if day != row["today"]:
            row["today"], row["today_pnl"] = day, "0"
        row["fees"] = str(dec(row["fees"]) + event.fee)
        if event.side is Side.BUY:
            row["cash"] = str(dec(row["cash"]) - notional - event.fee)
            qty, cost = qty + event.qty, cost + notional + event.fee
        else:
            row["cash"] = str(dec(row["cash"]) + notional - event.fee)
            basis = cost_of(event.qty, qty, cost)
            pnl = event.realized_pnl
            if pnl is None:  # never for a stored sell; mirrors the aggregate
                pnl = notional - event.fee - basis
            qty, cost = qty - event.qty, cost - basis
            row["realized_pnl"] = str(dec(row["realized_pnl"]) + pnl)
            row["today_pnl"] = str(dec(row["today_pnl"]) + pnl)
        holding = {"bot_id": row["id"], "symbol": event.symbol, "qty": qty, "cost": str(cost)}
        batch["rm_bot_holdings"].put(holding)

    def finish(self, batch: Batch) -> None:
        """Equity at cost and the open position count, from the holdings the batch left."""
        batch["rm_bot_holdings"].flush()
        for row in batch["rm_bots"].dirty_rows():
            held = batch.tx.execute(
                "SELECT cost FROM rm_bot_holdings WHERE bot_id = ?", [row["id"]]
            )
            row["open_positions"] = len(held)
            costs = sum((dec(h["cost"]) for h in held), Decimal(0))
            row["equity"] = str(dec(row["cash"]) + costs)


def _new_row(event: Bot.Created) -> Row:
    capital, at = event.config["capital"], iso(event.timestamp)
    return {
        "id": str(event.originator_id),
        "name": event.config["name"],
        "status": BotStatus.CREATED.value,
        "config": dumps(event.config),
        "capital": capital,
        "cash": capital,
        "equity": capital,
        "open_positions": 0,
        "realized_pnl": "0",
        "fees": "0",
        "today": None,
        "today_pnl": "0",
        "last_signal": None,
        "trades": 0,
        "halted_on": None,
        "created_at": at,
        "updated_at": at,
        "version": event.originator_version,
        "status_reason": None,
    }


def _signal(event: Bot.SignalGenerated) -> str:
    return dumps(
        {
            "symbol": event.symbol,
            "side": event.side.value,
            "price": event.price,
            "rule": event.rule,
            "bar_time": event.bar_time,
            "indicators": event.indicators,
        }
    )
