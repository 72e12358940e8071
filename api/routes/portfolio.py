"""P&L, open positions and orders from the read models, for every bot or one (`bot_id`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.consistency import QUERY_RESPONSES, ReadModelPosition
from api.deps import ServicesDep, authenticate
from api.errors import responses
from api.offload import offloaded
from api.schemas import Money
from domain.orders import Intent, OrderType, Side
from projections import views

router = APIRouter(
    prefix="/api",
    tags=["portfolio"],
    dependencies=[Depends(authenticate)],
    responses=responses(401, 422) | QUERY_RESPONSES,
)

BotFilter = Annotated[UUID | None, Query(description="only this bot (default: every bot)")]
OrderStatus = Literal["submitted", "accepted", "partially_filled", "filled", "canceled", "rejected"]


class PnlSummary(BaseModel):
    bot_id: UUID
    name: str | None
    capital: Money
    realized_pnl: Money
    equity: Money = Field(description="capital plus realised P&L")
    fees: Money
    trades: int = Field(description="round trips closed")
    wins: int
    losses: int
    win_rate: str | None = Field(description="wins / trades, 4 places; null without trades")
    average_win: Money | None
    average_loss: Money | None
    gross_profit: Money
    gross_loss: Money
    profit_factor: str | None = Field(description="gross profit / -gross loss; null if no loss")


class DailyPnl(BaseModel):
    bot_id: UUID
    day: date = Field(description="New York trading day")
    realized_pnl: Money
    fees: Money
    trades: int
    wins: int
    losses: int
    gross_profit: Money
    gross_loss: Money


class PnlReport(BaseModel):
    summary: list[PnlSummary]
    daily: list[DailyPnl]


class Position(BaseModel):
    bot_id: UUID
    symbol: str
    qty: int
    avg_price: Money = Field(description="cost (fees included) per share")
    cost: Money
    opened_at: datetime
    updated_at: datetime


class Order(BaseModel):
    client_order_id: str
    bot_id: UUID
    symbol: str
    side: Side
    qty: int
    order_type: OrderType
    intent: Intent
    limit_price: Money | None
    stop_price: Money | None
    reserved: Money = Field(description="cash set aside while the order works")
    status: OrderStatus
    filled_qty: int
    avg_fill_price: Money | None
    fees: Money
    broker_order_id: str | None
    reason: str | None = Field(description="why it was rejected or canceled")
    submitted_at: datetime
    updated_at: datetime


@router.get("/pnl")
@offloaded
def get_pnl(services: ServicesDep, _: ReadModelPosition, bot_id: BotFilter = None) -> PnlReport:
    """Realised P&L per bot (wins, losses, fees, ratios) and per New York trading day."""
    db = services.read_models
    return PnlReport(
        summary=[PnlSummary.model_validate(s) for s in views.pnl_summary(db, bot_id)],
        daily=[DailyPnl.model_validate(d) for d in views.daily_pnl(db, bot_id)],
    )


@router.get("/positions")
@offloaded
def list_positions(
    services: ServicesDep, _: ReadModelPosition, bot_id: BotFilter = None
) -> list[Position]:
    """Open positions by bot and symbol."""
    return [Position.model_validate(p) for p in views.list_positions(services.read_models, bot_id)]


@router.get("/orders")
@offloaded
def list_orders(
    services: ServicesDep,
    _: ReadModelPosition,
    bot_id: BotFilter = None,
    status: Annotated[OrderStatus | None, Query(description="only orders in this state")] = None,
) -> list[Order]:
    """Orders the bots submitted, oldest first, and where the broker left each."""
    rows = views.list_orders(services.read_models, bot_id, status)
    return [Order.model_validate(o) for o in rows]
