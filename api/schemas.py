"""Response models of the bot queries (read models and the audit), and the shared Money type.

Money and other exact decimals are JSON strings ("1234.50"), never floats; moments are ISO-8601.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from domain.bot import BotStatus
from domain.orders import OrderType, Side

Money = Annotated[str, Field(description="exact decimal as a string", examples=["1234.50"])]


class StoredRiskManagement(BaseModel):
    stop_loss: Money | None
    take_profit: Money | None
    max_position_size: Money
    max_daily_loss: Money | None
    max_positions: int


class StoredBotConfig(BaseModel):
    """A bot's config as stored (decimals as strings); it can be sent back with PUT as is."""

    name: str
    capital: Money
    trading_frequency: int
    symbols: list[str]
    indicators: dict[str, dict[str, str]] = Field(
        description="kind -> its parameters and rule thresholds, e.g. {'RSI': {'period': '14'}}"
    )
    risk_management: StoredRiskManagement
    start_hour: int
    start_minute: int
    end_hour: int
    end_minute: int
    min_votes: int
    flatten_at_end: bool
    entry_price_buffer: Money


class LastSignal(BaseModel):
    symbol: str
    side: Side
    price: Money
    rule: str = Field(description="the vote that produced the signal, for people")
    bar_time: datetime
    indicators: dict[str, str] = Field(description="`LABEL.output` -> value, plus `close`")


class BotView(BaseModel):
    """A bot as the rm_bots read model has it."""

    id: UUID
    name: str
    status: BotStatus
    config: StoredBotConfig
    capital: Money
    cash: Money
    equity: Money = Field(description="cash plus open positions at cost")
    open_positions: int
    realized_pnl: Money
    fees: Money
    today: date | None = Field(description="New York trading day of the last fill")
    today_pnl: Money = Field(description="realised P&L on `today`")
    last_signal: LastSignal | None
    trades: int = Field(description="round trips closed")
    halted_on: date | None = Field(description="day the daily loss limit halted the bot")
    status_reason: str | None = Field(
        default=None, description="why the bot stopped or errored (null while it runs)"
    )
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="the aggregate version the read model reflects")


class TimelineItem(BaseModel):
    version: int
    at: datetime
    type: str = Field(description="event class, e.g. `OrderFilled`")
    text: str = Field(description="what happened and why, for people")


class TimelinePage(BaseModel):
    items: list[TimelineItem]
    next_cursor: int | None = Field(description="pass as `cursor` for the next page; null: done")


class StatePosition(BaseModel):
    symbol: str
    qty: int
    avg_price: Money
    cost: Money


class WorkingOrder(BaseModel):
    client_order_id: str
    symbol: str
    side: Side
    qty: int
    type: OrderType
    filled_qty: int


class BotState(BaseModel):
    """A bot's state rebuilt from its events up to a moment (as `openbell audit --at`)."""

    id: UUID
    name: str
    status: BotStatus
    version: int
    as_of: datetime = Field(description="time of the last event applied")
    config: StoredBotConfig
    cash: Money
    reserved: Money
    realized_pnl: Money
    fees: Money
    trades: int
    halted_on: date | None
    positions: list[StatePosition]
    working_orders: list[WorkingOrder]


class EquityPoint(BaseModel):
    seq: int
    at: datetime
    equity: Money = Field(description="capital plus cumulative realised P&L")


class EquityCurve(BaseModel):
    bot_id: UUID
    points: list[EquityPoint]
