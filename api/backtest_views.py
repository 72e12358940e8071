"""Backtests as the HTTP API shows them: the registry row plus, once finished, the backtest's own
read models (fills, realised equity curve and its drawdown)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from application.backtest_records import BacktestRecord, BacktestStatus
from domain.units import CENT
from projections.db import ReadModelDatabase
from projections.views import equity_curve, list_trades


class BotSummary(BaseModel):
    id: str
    name: str
    digest: str = Field(description="sha256 over the bot's stored events (see `openbell audit`)")
    events: int
    trades: int = Field(description="round trips (closed positions)")
    realized_pnl: str
    fees: str
    final_equity: str
    return_pct: str
    max_drawdown: str = Field(description="peak-to-trough equity, marked at every bar")
    max_drawdown_pct: str
    open_positions: int


class Summary(BaseModel):
    dataset_id: str = Field(description="content hash of the bars (and the slice, if any)")
    bars: int
    seconds: float
    bars_per_second: float | None
    bots: list[BotSummary]


class TradesPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="fills, oldest first (as /api/trades)")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class EquityPoint(BaseModel):
    seq: int
    at: str
    equity: str


class DrawdownPoint(BaseModel):
    at: str
    drawdown: str
    drawdown_pct: str


class Drawdown(BaseModel):
    max: str
    max_pct: str
    points: list[DrawdownPoint]


class BacktestItem(BaseModel):
    id: str
    status: BacktestStatus
    created_at: str
    started_at: str | None
    finished_at: str | None
    dataset: str
    bars_total: int
    bars_done: int
    error: str | None

    @classmethod
    def of(cls, record: BacktestRecord) -> BacktestItem:
        return cls(**_item(record))


class BacktestDetail(BacktestItem):
    configs: list[dict[str, Any]]
    options: dict[str, Any] = Field(description="start, end and the simulator's costs")
    store_url: str = Field(description="the backtest's own store (never with a password)")
    summary: Summary | None = None
    trades: TradesPage | None = None
    equity: dict[str, list[EquityPoint]] | None = Field(
        None, description="per bot id: capital plus realised P&L, after each closed position"
    )
    drawdown: dict[str, Drawdown] | None = Field(
        None, description="per bot id: drawdown of that realised equity curve from its peak"
    )


def detail(record: BacktestRecord, db: ReadModelDatabase | None, limit: int) -> BacktestDetail:
    """The record, with trades, equity and drawdown read from `db` when it is finished."""
    view = BacktestDetail(
        **_item(record),
        configs=record.configs,
        options=record.options,
        store_url=record.store_url,
        summary=Summary.model_validate(record.result) if record.result else None,
    )
    if db is None or view.summary is None:
        return view
    items, next_cursor = list_trades(db, limit=limit)
    view.trades = TradesPage(items=items, next_cursor=next_cursor)
    curves = {bot.id: equity_curve(db, bot.id) for bot in view.summary.bots}
    view.equity = {
        bot_id: [EquityPoint.model_validate(p) for p in points] for bot_id, points in curves.items()
    }
    view.drawdown = {bot_id: drawdown(points) for bot_id, points in curves.items()}
    return view


def drawdown(points: list[dict[str, Any]]) -> Drawdown:
    """Drawdown from the running peak at each point of an equity curve."""
    peak: Decimal | None = None
    worst, worst_pct = Decimal(0), Decimal(0)
    series = []
    for point in points:
        equity = Decimal(point["equity"])
        peak = equity if peak is None or equity > peak else peak
        down = peak - equity
        pct = (down / peak * 100).quantize(CENT) if peak > 0 else Decimal(0)
        worst, worst_pct = max(worst, down), max(worst_pct, pct)
        series.append(DrawdownPoint(at=point["at"], drawdown=f"{down:f}", drawdown_pct=f"{pct:f}"))
    return Drawdown(max=f"{worst:f}", max_pct=f"{worst_pct:f}", points=series)


def _item(record: BacktestRecord) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "status": record.status,
        "created_at": record.created_at.isoformat(),
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "dataset": record.dataset,
        "bars_total": record.bars,
        "bars_done": record.progress,
        "error": record.error,
    }
