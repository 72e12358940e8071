"""Fills from rm_trades: filtered, sorted and paged by cursor (see projections.paging)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack
from uuid import UUID

import orjson

from domain.units import NEW_YORK
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


class TradeFilters(TypedDict, total=False):
    """Which fills: one bot, one symbol, one side, start <= timestamp < end (naive = New York)."""

    bot_id: UUID | str | None
    symbol: str | None
    side: str | None
    start: datetime | str | None
    end: datetime | str | None


def trade_page_query(
    sort: str = "timestamp",
    limit: int = 100,
    cursor: str | None = None,
    **filters: Unpack[TradeFilters],
) -> TradePageQuery:
    """The query of one page of fills, filtered, one row past the page to tell whether another
    follows.

    `sort` is a column of TRADE_SORTS, prefixed with '-' to reverse; ties break on id.
    Raises ValueError (InvalidCursor) for bad arguments.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
    keyset = Keyset.parse(sort, TRADE_SORTS)
    where, params = _trade_filters(filters)
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
    sort: str = "timestamp",
    limit: int = 100,
    cursor: str | None = None,
    **filters: Unpack[TradeFilters],
) -> tuple[list[Row], str | None]:
    """One page of fills (see trade_page_query) and the cursor of the next page."""
    query = trade_page_query(sort, limit, cursor, **filters)
    return query.page(db.query(query.sql, query.params))


def iter_trades(
    db: ReadModelDatabase,
    sort: str = "timestamp",
    page_size: int = MAX_PAGE,
    **filters: Unpack[TradeFilters],
) -> Iterator[Row]:
    """Every matching fill, page by page (for CSV export without loading them all)."""
    cursor: str | None = None
    while True:
        page, cursor = list_trades(db, sort, page_size, cursor, **filters)
        yield from page
        if cursor is None:
            return


def _trade_filters(filters: TradeFilters) -> tuple[list[str], list[Any]]:
    side, bot_id = filters.get("side"), filters.get("bot_id")
    if side is not None and side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    where: list[str] = []
    params: list[Any] = []
    for condition, value in (
        ("bot_id = ?", None if bot_id is None else str(bot_id)),
        ("symbol = ?", filters.get("symbol")),
        ("type = ?", side),
        ("timestamp >= ?", _moment(filters.get("start"))),
        ("timestamp < ?", _moment(filters.get("end"))),
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
