"""Fills from rm_trades: filtered, sorted and paged by cursor (see projections.paging)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from domain.bot import NEW_YORK
from projections.base import iso
from projections.db import ReadModelDatabase, Row
from projections.paging import TRADE_SORTS, Keyset

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class TradePageQuery:
    """The SQL of one page of fills, and how its rows become the page and the next cursor."""

    sql: str
    params: list[Any]
    limit: int
    keyset: Keyset

    def page(self, rows: list[Row]) -> tuple[list[Row], str | None]:
        page = rows[: self.limit]
        next_cursor = self.keyset.cursor(page[-1]) if len(rows) > self.limit else None
        return [_trade(r) for r in page], next_cursor


def trade_page_query(
    bot_id: UUID | str | None = None,
    symbol: str | None = None,
    side: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    sort: str = "timestamp",
    limit: int = 100,
    cursor: str | None = None,
) -> TradePageQuery:
    """The query of one page of fills, filtered (start <= timestamp < end), one row past the
    page to tell whether another follows.

    `sort` is a column of TRADE_SORTS, prefixed with '-' to reverse; ties break on id. Naive
    moments mean New York time. Raises ValueError (InvalidCursor) for bad arguments.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    keyset = Keyset.parse(sort, TRADE_SORTS)
    where, params = _trade_filters(bot_id, symbol, side, start, end)
    if cursor:
        condition, values = keyset.after(cursor)
        where.append(condition)
        params += values
    sql = "SELECT * FROM rm_trades"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {keyset.order_by()} LIMIT ?"
    return TradePageQuery(sql, [*params, limit + 1], limit, keyset)


def list_trades(
    db: ReadModelDatabase,
    bot_id: UUID | str | None = None,
    symbol: str | None = None,
    side: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    sort: str = "timestamp",
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[Row], str | None]:
    """One page of fills (see trade_page_query) and the cursor of the next page."""
    query = trade_page_query(bot_id, symbol, side, start, end, sort, limit, cursor)
    return query.page(db.query(query.sql, query.params))


def iter_trades(
    db: ReadModelDatabase,
    bot_id: UUID | str | None = None,
    symbol: str | None = None,
    side: str | None = None,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    sort: str = "timestamp",
    page_size: int = MAX_PAGE,
) -> Iterator[Row]:
    """Every matching fill, page by page (for CSV export without loading them all)."""
    cursor: str | None = None
    while True:
        page, cursor = list_trades(
            db, bot_id, symbol, side, start, end, sort, limit=page_size, cursor=cursor
        )
        yield from page
        if cursor is None:
            return


def _trade_filters(
    bot_id: UUID | str | None,
    symbol: str | None,
    side: str | None,
    start: datetime | str | None,
    end: datetime | str | None,
) -> tuple[list[str], list[Any]]:
    if side is not None and side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    where: list[str] = []
    params: list[Any] = []
    for condition, value in (
        ("bot_id = ?", None if bot_id is None else str(bot_id)),
        ("symbol = ?", symbol),
        ("type = ?", side),
        ("timestamp >= ?", _moment(start)),
        ("timestamp < ?", _moment(end)),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    return where, params


def _moment(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 moment") from None
    return iso(value if value.tzinfo else value.replace(tzinfo=NEW_YORK).astimezone(UTC))


def _trade(row: Row) -> Row:
    snapshot = row["indicators_snapshot"]
    row["indicators_snapshot"] = orjson.loads(snapshot) if snapshot else None
    return row
