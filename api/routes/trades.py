"""Fills from the rm_trades read model: filtered, sorted and paged by cursor, or all as CSV.

Filters: `bot_id`, `symbol`, `side` (buy|sell), `start` <= timestamp < `end` (naive moments mean
New York time). `sort` names a column, `-` first for descending (ties break on the fill id);
`cursor` is the previous page's `next_cursor` and only valid with the same sort.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.consistency import POSITION_HEADER, QUERY_RESPONSES, ReadModelPosition
from api.deps import ServicesDep, authenticate
from api.errors import responses
from api.params import MOMENT_HELP, invalid, optional_utc
from api.reads import read
from api.schemas import Money
from domain.orders import Side
from projections import views
from projections.db import ReadModelDatabase
from projections.paging import TRADE_SORTS, InvalidCursor

router = APIRouter(
    prefix="/api",
    tags=["trades"],
    dependencies=[Depends(authenticate)],
    responses=responses(401, 422) | QUERY_RESPONSES,
)

SORT_PATTERN = f"^-?({'|'.join(TRADE_SORTS)})$"
CSV_COLUMNS = (
    "bot_id",
    "symbol",
    "type",
    "quantity",
    "price",
    "timestamp",
    "indicators_snapshot",
    "profit_loss",
    "order_id",
    "fee",
)
_FLUSH_BYTES = 64 * 1024


class IndicatorSnapshot(BaseModel):
    """The signal behind the fill: indicator values on its bar and the rule that fired."""

    indicators: dict[str, str] = Field(description="`LABEL.output` -> value, plus `close`")
    rule: str
    side: Side
    bar_time: datetime


class TradeView(BaseModel):
    id: int = Field(description="the fill's store position (unique)")
    bot_id: UUID
    symbol: str
    type: Side
    quantity: int
    price: Money
    timestamp: datetime
    indicators_snapshot: IndicatorSnapshot | None
    profit_loss: Money | None = Field(description="realised on sells; null on buys")
    order_id: str
    fee: Money


class TradePage(BaseModel):
    items: list[TradeView]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: done")


@dataclass(frozen=True, slots=True)
class TradeFilters:
    bot_id: UUID | None
    symbol: str | None
    side: str | None
    start: datetime | None
    end: datetime | None
    sort: str

    def arguments(self) -> dict[str, Any]:
        return {
            "bot_id": self.bot_id,
            "symbol": self.symbol,
            "side": self.side,
            "start": self.start,
            "end": self.end,
            "sort": self.sort,
        }


async def trade_filters(
    bot_id: Annotated[UUID | None, Query(description="only this bot's fills")] = None,
    symbol: Annotated[str | None, Query(max_length=16, description="only this symbol")] = None,
    side: Annotated[Literal["buy", "sell"] | None, Query(description="only buys or sells")] = None,
    start: Annotated[datetime | None, Query(description=f"from (inclusive); {MOMENT_HELP}")] = None,
    end: Annotated[datetime | None, Query(description=f"until (exclusive); {MOMENT_HELP}")] = None,
    sort: Annotated[
        str,
        Query(
            pattern=SORT_PATTERN,
            description=f"one of {', '.join(TRADE_SORTS)}; prefix `-` for descending",
        ),
    ] = "timestamp",
) -> TradeFilters:
    return TradeFilters(
        bot_id, symbol, side, optional_utc(start, "start"), optional_utc(end, "end"), sort
    )


Filters = Annotated[TradeFilters, Depends(trade_filters)]


@router.get("/trades")
async def list_trades(
    services: ServicesDep,
    _: ReadModelPosition,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=views.MAX_PAGE, description="fills per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=512, description="a `next_cursor`")] = None,
) -> TradePage:
    """One page of fills, filtered and sorted, with the cursor of the next page."""
    try:
        query = views.trade_page_query(**filters.arguments(), limit=limit, cursor=cursor)
    except InvalidCursor as exc:
        raise invalid("cursor", str(exc), cursor) from None
    rows, next_cursor = query.page(await read(services, query.sql, query.params))
    return TradePage(items=[TradeView.model_validate(r) for r in rows], next_cursor=next_cursor)


class CsvResponse(StreamingResponse):
    media_type = "text/csv"  # Starlette adds "; charset=utf-8"


def _json_errors(documented: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The error responses documented as JSON (FastAPI would give them the route's CSV type)."""
    schema = {"$ref": "#/components/schemas/ErrorResponse"}
    return {
        code: {
            "description": doc["description"],
            "content": {"application/json": {"schema": schema}},
        }
        for code, doc in documented.items()
        if "model" in doc
    }


@router.get(
    "/trades.csv",
    response_class=CsvResponse,
    responses=_json_errors(router.responses)
    | {
        200: QUERY_RESPONSES[200]
        | {
            "description": "CSV with a header row, one fill per line",
            "content": {CsvResponse.media_type: {"schema": {"type": "string"}}},
        }
    },
)
def export_trades_csv(
    services: ServicesDep, position: ReadModelPosition, filters: Filters
) -> CsvResponse:
    """Every matching fill as CSV (the seed's Trades columns), streamed page by page."""
    return CsvResponse(
        _csv_chunks(services.read_models, filters),
        headers={
            "Content-Disposition": "attachment; filename=trades.csv",
            POSITION_HEADER: str(position),
        },
    )


def _csv_chunks(db: ReadModelDatabase, filters: TradeFilters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in views.iter_trades(db, **filters.arguments()):
        writer.writerow(_csv_row(row))
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_row(row: dict[str, Any]) -> list[Any]:
    snapshot = row["indicators_snapshot"]
    values = dict(row)
    values["indicators_snapshot"] = (
        "" if snapshot is None else json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
    )
    return [values[column] for column in CSV_COLUMNS]
