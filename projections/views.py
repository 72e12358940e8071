"""Plain-SQL reads of the read models for the HTTP API: plain dicts, Decimals as strings.

JSON columns (config, last_signal, indicators_snapshot) come back decoded. Moments are UTC
ISO-8601 strings. The tables must exist (`projections.ensure_tables`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from domain.units import CENT
from projections.base import dec
from projections.db import ReadModelDatabase, Row
from projections.trade_queries import MAX_PAGE, iter_trades, list_trades, trade_page_query

__all__ = [
    "BOTS_SQL",
    "BOT_SQL",
    "MAX_PAGE",
    "bot_row",
    "daily_pnl",
    "equity_curve",
    "get_bot",
    "iter_trades",
    "list_bots",
    "list_orders",
    "list_positions",
    "list_trades",
    "pnl_summary",
    "trade_page_query",
]


BOTS_SQL = "SELECT * FROM rm_bots ORDER BY created_at, id"
BOT_SQL = "SELECT * FROM rm_bots WHERE id = ?"


def list_bots(db: ReadModelDatabase) -> list[Row]:
    return [bot_row(r) for r in db.query(BOTS_SQL)]


def get_bot(db: ReadModelDatabase, bot_id: UUID | str) -> Row | None:
    rows = db.query(BOT_SQL, [str(bot_id)])
    return bot_row(rows[0]) if rows else None


def list_positions(db: ReadModelDatabase, bot_id: UUID | str | None = None) -> list[Row]:
    where, params = _by_bot(bot_id)
    return db.query(f"SELECT * FROM rm_positions{where} ORDER BY bot_id, symbol", params)


def list_orders(
    db: ReadModelDatabase, bot_id: UUID | str | None = None, status: str | None = None
) -> list[Row]:
    where, params = _by_bot(bot_id)
    if status is not None:
        where = f"{where} AND status = ?" if where else " WHERE status = ?"
        params.append(status)
    rows = db.query(
        f"SELECT * FROM rm_orders{where} ORDER BY submitted_at, client_order_id", params
    )
    for row in rows:
        del row["fill_value"]
    return rows


def daily_pnl(db: ReadModelDatabase, bot_id: UUID | str | None = None) -> list[Row]:
    where, params = _by_bot(bot_id)
    return db.query(f"SELECT * FROM rm_daily_pnl{where} ORDER BY bot_id, day", params)


def equity_curve(db: ReadModelDatabase, bot_id: UUID | str) -> list[Row]:
    return db.query(
        "SELECT seq, at, equity FROM rm_equity WHERE bot_id = ? ORDER BY seq", [str(bot_id)]
    )


def pnl_summary(db: ReadModelDatabase, bot_id: UUID | str | None = None) -> list[Row]:
    """Per bot: realised P&L, fees, round trips, wins, losses, win rate and average win/loss."""
    where, params = _by_bot(bot_id)
    states = db.query(f"SELECT * FROM rm_pnl_state{where} ORDER BY bot_id", params)
    days: dict[str, list[Row]] = {}
    for day in daily_pnl(db, bot_id):
        days.setdefault(day["bot_id"], []).append(day)
    names = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM rm_bots")}
    return [_summary(s, days.get(s["bot_id"], []), names.get(s["bot_id"])) for s in states]


def _summary(state: Row, days: list[Row], name: str | None) -> Row:
    def total(column: str) -> Decimal:
        return sum((dec(d[column]) for d in days), Decimal(0))

    trades, wins, losses = (sum(d[c] for d in days) for c in ("trades", "wins", "losses"))
    profit, loss = total("gross_profit"), total("gross_loss")
    capital, realized = dec(state["capital"]), dec(state["realized_pnl"])
    return {
        "bot_id": state["bot_id"],
        "name": name,
        "capital": str(capital),
        "realized_pnl": str(realized),
        "equity": str(capital + realized),
        "fees": str(total("fees")),
        "trades": trades,
        "wins": wins,
        "losses": losses,
        "win_rate": str((Decimal(wins) / trades).quantize(Decimal("0.0001"))) if trades else None,
        "average_win": str((profit / wins).quantize(CENT)) if wins else None,
        "average_loss": str((loss / losses).quantize(CENT)) if losses else None,
        "gross_profit": str(profit),
        "gross_loss": str(loss),
        "profit_factor": str((profit / -loss).quantize(CENT)) if loss else None,
    }


def _by_bot(bot_id: UUID | str | None) -> tuple[str, list[Any]]:
    return ("", []) if bot_id is None else (" WHERE bot_id = ?", [str(bot_id)])


def bot_row(row: Row) -> Row:
    """An rm_bots row as read, with its JSON columns decoded (in place)."""
    row["config"] = orjson.loads(row["config"])
    row["last_signal"] = orjson.loads(row["last_signal"]) if row["last_signal"] else None
    return row
