"""The market: NYSE session status at a moment, and bars of the configured dataset for charts.

Bars come from `settings.bars_dataset` (loaded once per process), not from the read models.
Indicators are asked for as repeated `indicator` parameters holding labels, the way bots' signal
snapshots name them: `?indicator=RSI(14)&indicator=MACD(12,26,9)&indicator=OBV`.
"""

from __future__ import annotations

import bisect
import logging
import math
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Now, ServicesDep, authenticate
from api.errors import ApiError, ErrorResponse, responses
from api.market_data import (
    BarsDataset,
    DatasetUnavailable,
    UnknownSymbol,
    load_dataset,
    parse_indicator,
)
from api.offload import offloaded
from api.params import MOMENT_HELP, invalid, optional_utc, utc_moment
from api.schemas import Money
from api.services import Services
from application.audit import local_time
from application.bot_config import SYMBOL_PATTERN
from domain.calendar import Session, holiday_name, is_open, next_session, session_on
from domain.config import IndicatorSpec
from domain.units import NEW_YORK

log = logging.getLogger("openbell.api")

router = APIRouter(
    prefix="/api/market",
    tags=["market"],
    dependencies=[Depends(authenticate)],
    responses=responses(401, 422),
)

MAX_BARS = 10_000
MAX_INDICATORS = 10


class SessionTimes(BaseModel):
    day: date
    open: datetime
    close: datetime
    open_local: str = Field(description="New York local time, e.g. `2024-11-29 09:30 ET`")
    close_local: str
    early_close: bool = Field(description="closes at 13:00 New York time")

    @classmethod
    def of(cls, session: Session) -> SessionTimes:
        return cls(
            day=session.day,
            open=session.open.astimezone(UTC),
            close=session.close.astimezone(UTC),
            open_local=local_time(session.open),
            close_local=local_time(session.close),
            early_close=session.early_close,
        )


class MarketStatus(BaseModel):
    at: datetime
    at_local: str = Field(description="`at` in New York local time")
    is_open: bool = Field(description="the regular session is in progress at `at`")
    holiday: str | None = Field(description="the closure on `at`'s New York date, if any")
    early_close: bool = Field(description="`at`'s New York date closes at 13:00")
    session: SessionTimes | None = Field(description="the regular session on that date, if any")
    next_open: datetime = Field(description="the next opening bell after `at`")
    next_open_local: str
    next_close: datetime = Field(description="the close of the current or next session")
    next_close_local: str


class BarPoint(BaseModel):
    timestamp: datetime = Field(description="start of the minute")
    open: Money
    high: Money
    low: Money
    close: Money
    volume: int
    indicators: dict[str, float | None] = Field(
        description="`LABEL.output` -> value; null during the indicator's warm-up"
    )


class BarsPage(BaseModel):
    symbol: str
    indicators: dict[str, list[str]] = Field(description="each label asked for -> its outputs")
    bars: list[BarPoint]
    next_start: datetime | None = Field(description="pass as `start` for the next page; null: done")


@router.get("/status")
@offloaded
def get_market_status(
    now: Now,
    at: Annotated[datetime | None, Query(description=f"{MOMENT_HELP}; default now")] = None,
) -> MarketStatus:
    """Whether the NYSE regular session is open at `at`, the day's holiday or early close, and
    the next open and close."""
    at = now if at is None else utc_moment(at, "at")
    day = at.astimezone(NEW_YORK).date()
    try:
        today, open_now, holiday = session_on(day), is_open(at), holiday_name(day)
        upcoming = next_session(at)  # the current session while open, else the next one
        next_open = next_session(upcoming.close).open if open_now else upcoming.open
    except ValueError as exc:  # outside the calendar's years
        raise invalid("at", str(exc), at.isoformat()) from None
    return MarketStatus(
        at=at.astimezone(UTC),
        at_local=local_time(at),
        is_open=open_now,
        holiday=holiday,
        early_close=today is not None and today.early_close,
        session=None if today is None else SessionTimes.of(today),
        next_open=next_open.astimezone(UTC),
        next_open_local=local_time(next_open),
        next_close=upcoming.close.astimezone(UTC),
        next_close_local=local_time(upcoming.close),
    )


@router.get(
    "/bars/{symbol}",
    responses={
        404: {"model": ErrorResponse, "description": "no bars for that symbol"},
        503: {"model": ErrorResponse, "description": "the bars dataset cannot be loaded"},
    },
)
async def get_bars(
    services: ServicesDep,
    symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN, description="e.g. AAPL")],
    start: Annotated[datetime | None, Query(description=f"from (inclusive); {MOMENT_HELP}")] = None,
    end: Annotated[datetime | None, Query(description=f"until (exclusive); {MOMENT_HELP}")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BARS, description="bars per page")] = 1000,
    indicator: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_INDICATORS,
            description="repeatable label KIND(p1,...) as in bots' snapshots: RSI(14), "
            "SMA(20), EMA(9), MACD(12,26,9), BBANDS(20,2), STOCH(14,3,3), VOLUME_SMA(20), OBV",
        ),
    ] = None,
) -> BarsPage:
    """One-minute bars of `symbol` from the configured dataset, with indicator series computed
    over the symbol's whole history (TA-Lib), paged by `start`."""
    specs = _specs(indicator or [])
    first, until = optional_utc(start, "start"), optional_utc(end, "end")
    return await run_in_threadpool(_bars_page, services, symbol, first, until, limit, specs)


def _specs(labels: list[str]) -> list[IndicatorSpec]:
    specs: dict[str, IndicatorSpec] = {}
    for label in labels:
        try:
            spec = parse_indicator(label)
        except ValueError as exc:
            raise invalid("indicator", str(exc), label) from None
        specs.setdefault(spec.label, spec)
    return list(specs.values())


def _dataset(setting: str) -> BarsDataset:
    try:
        return load_dataset(setting)
    except DatasetUnavailable as exc:
        log.error("bars dataset unavailable: %s", exc)
        raise ApiError(503, "bars_unavailable", "the bars dataset cannot be loaded") from None


def _bars_page(
    services: Services,
    symbol: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    specs: list[IndicatorSpec],
) -> BarsPage:
    dataset = _dataset(services.settings.bars_dataset)
    try:
        bars = dataset.symbol(symbol)
    except UnknownSymbol as exc:
        raise ApiError(404, "symbol_not_found", str(exc)) from None
    low = 0 if start is None else bisect.bisect_left(bars.times, start)
    high = len(bars.times) if end is None else bisect.bisect_left(bars.times, end)
    stop = min(high, low + limit) if low < high else low
    columns: dict[str, list[float | None]] = {}
    outputs: dict[str, list[str]] = {}
    for spec in specs:
        frame = dataset.series(symbol, spec)
        outputs[spec.label] = [str(c) for c in frame.columns]
        for column in frame.columns:
            values = frame[column].to_numpy()[low:stop].tolist()
            columns[f"{spec.label}.{column}"] = [v if math.isfinite(v) else None for v in values]
    points = [
        BarPoint(
            timestamp=bar.timestamp,
            open=str(bar.open),
            high=str(bar.high),
            low=str(bar.low),
            close=str(bar.close),
            volume=bar.volume,
            indicators={key: values[i] for key, values in columns.items()},
        )
        for i, bar in enumerate(bars.bars[low:stop])
    ]
    next_start = bars.times[stop] if stop < high else None
    return BarsPage(symbol=symbol, indicators=outputs, bars=points, next_start=next_start)
