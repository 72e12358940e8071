"""Backtests: POST replays a bars dataset through bot configs in the background, into a store of
its own; GET shows progress and, once finished, the summary, fills and equity curves.

Progress is published on the broadcaster topic ``backtest:<id>`` (the WebSocket relays it).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, NoReturn
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from api.backtest_views import BacktestDetail, BacktestItem, TradesPage, detail
from api.deps import Authenticated, BacktestAccess, BacktestsDep, CommandToken
from api.errors import ApiError, responses
from api.offload import offloaded
from application.backtest_records import (
    BacktestBusy,
    BacktestInputError,
    BacktestNotFound,
    BacktestRecord,
    BacktestRequest,
    BacktestStatus,
    BacktestsUnavailable,
    safe_name,
)
from application.bot_config import BotConfigInput
from domain.units import NEW_YORK
from projections.db import ReadModelDatabase
from projections.paging import InvalidCursor
from projections.views import MAX_PAGE, list_trades

router = APIRouter(prefix="/api/backtests", tags=["backtests"], responses=responses(401, 422))

BacktestId = Annotated[UUID, Path(description="the backtest's id")]
Cost = Annotated[Decimal, Field(ge=0, le=10000, allow_inf_nan=False)]


class BacktestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    configs: list[BotConfigInput] = Field(min_length=1, max_length=10)
    dataset: str | None = Field(
        None, description="a bars file name in the directory of OPENBELL_BARS_DATASET (no path)"
    )
    start: datetime | None = Field(None, description="first bar moment (naive: New York time)")
    end: datetime | None = Field(None, description="bars before this moment (naive: New York)")
    commission_per_share: Cost | None = None
    commission_min: Cost | None = None
    slippage_bps: Cost | None = None

    @field_validator("dataset")
    @classmethod
    def _file_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                safe_name(value)
            except BacktestInputError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=NEW_YORK) if value and value.tzinfo is None else value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if value is not None and start is not None and value <= start:
            raise ValueError("end must be after start")
        return value

    def request(self) -> BacktestRequest:
        costs = {
            name: value
            for name in ("commission_per_share", "commission_min", "slippage_bps")
            if (value := getattr(self, name)) is not None
        }
        return BacktestRequest(tuple(self.configs), self.dataset, self.start, self.end, costs)


class BacktestAccepted(BaseModel):
    id: str
    status: BacktestStatus


class BacktestList(BaseModel):
    items: list[BacktestItem] = Field(description="newest first")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(413, 429, 503),
)
@offloaded
def create_backtest(body: BacktestCreate, _: CommandToken, setup: BacktestsDep) -> BacktestAccepted:
    """Queue a backtest; it runs in the background (poll GET, or watch `backtest:<id>`)."""
    try:
        record = setup.backtests.submit(body.request())
    except BacktestInputError as exc:
        _invalid(exc.field, str(exc), "body")
    except BacktestsUnavailable as exc:
        raise ApiError(503, "backtests_unavailable", str(exc)) from None
    return BacktestAccepted(id=str(record.id), status=record.status)


@router.get("")
@offloaded
def list_backtests(
    _: Authenticated, setup: BacktestsDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> BacktestList:
    """Backtests, newest first."""
    return BacktestList(items=[BacktestItem.of(r) for r in setup.backtests.recent(limit)])


@router.get("/{backtest_id}", responses=responses(404, 410))
@offloaded
def get_backtest(
    backtest_id: BacktestId,
    _: Authenticated,
    setup: BacktestsDep,
    trades_limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> BacktestDetail:
    """Status and progress; once finished also the summary, the first fills and equity curves."""
    record = _record(setup, backtest_id)
    if record.status is not BacktestStatus.FINISHED:
        return detail(record, None, trades_limit)
    with _store(setup, backtest_id) as db:
        return detail(record, db, trades_limit)


@router.delete(
    "/{backtest_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404, 409, 413, 429),
)
@offloaded
def delete_backtest(backtest_id: BacktestId, _: CommandToken, setup: BacktestsDep) -> None:
    """Forget a finished or failed backtest and remove its store (409 while queued or running)."""
    try:
        setup.backtests.delete(backtest_id)
    except BacktestNotFound as exc:
        raise ApiError(404, "backtest_not_found", str(exc)) from None
    except BacktestBusy as exc:
        raise ApiError(409, "backtest_running", str(exc)) from None


@router.get("/{backtest_id}/trades", responses=responses(404, 409, 410))
@offloaded
def backtest_trades(
    backtest_id: BacktestId,
    _: Authenticated,
    setup: BacktestsDep,
    cursor: str | None = None,
    bot_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> TradesPage:
    """One page of the backtest's fills, oldest first; follow `next_cursor` for more."""
    record = _record(setup, backtest_id)
    if record.status is not BacktestStatus.FINISHED:
        raise ApiError(409, "backtest_not_finished", f"backtest {backtest_id} is {record.status}")
    with _store(setup, backtest_id) as db:
        try:
            items, next_cursor = list_trades(db, bot_id=bot_id, limit=limit, cursor=cursor)
        except InvalidCursor as exc:
            _invalid("cursor", str(exc), "query")
    return TradesPage(items=items, next_cursor=next_cursor)


def _record(setup: BacktestAccess, backtest_id: UUID) -> BacktestRecord:
    try:
        return setup.backtests.get(backtest_id)
    except BacktestNotFound as exc:
        raise ApiError(404, "backtest_not_found", str(exc)) from None


def _store(setup: BacktestAccess, backtest_id: UUID) -> AbstractContextManager[ReadModelDatabase]:
    if not setup.stores.exists(backtest_id):
        raise ApiError(
            410, "backtest_store_missing", f"the store of backtest {backtest_id} was removed"
        )
    return setup.stores.read_models(backtest_id)


def _invalid(field: str | None, message: str, location: str) -> NoReturn:
    """A 422 naming `field`, in the API's one error shape."""
    loc = (location, *field.split(".")) if field else ()
    raise RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])
