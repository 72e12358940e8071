"""Helpers for the read-model tests: the sample replay, table dumps and aggregate snapshots."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from application.replay import replay
from application.service import OpenbellApplication
from infrastructure.bars_io import load_bars
from infrastructure.bootstrap import build_application
from infrastructure.cli.commands import dataset_id, load_config
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts
from projections.db import ReadModelDatabase

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BARS = ROOT / "data" / "sample" / "bars.csv"
CONFIGS = [ROOT / "data" / "sample" / "bots" / n for n in ("rsi_macd.json", "trend_bands.json")]
# Commission and slippage so fees and odd-cent prices go through every read model.
COSTS = SimulatorCosts(
    commission_per_share=Decimal("0.005"), commission_min=Decimal("1"), slippage_bps=Decimal("2")
)
FILL_TOPICS = ["domain.bot:Bot.OrderFilled", "domain.bot:Bot.OrderPartiallyFilled"]

# Every rm_* table and its primary key, for dumps ordered by key.
TABLE_KEYS = {
    "rm_tracking": ("projection",),
    "rm_bots": ("id",),
    "rm_bot_holdings": ("bot_id", "symbol"),
    "rm_trades": ("id",),
    "rm_trade_signals": ("bot_id", "symbol"),
    "rm_positions": ("bot_id", "symbol"),
    "rm_orders": ("client_order_id",),
    "rm_daily_pnl": ("bot_id", "day"),
    "rm_equity": ("bot_id", "seq"),
    "rm_pnl_state": ("bot_id",),
}

_BARS: list[Any] = []


def sample_bars() -> list[Any]:
    if not _BARS:
        _BARS.extend(load_bars([SAMPLE_BARS]))
    return _BARS


def replay_sample(url: str) -> tuple[OpenbellApplication, list[UUID]]:
    """The sample bars through the rsi-macd and trend-bands bots, stored at `url`."""
    app = build_application(url)
    configs = [load_config(p) for p in CONFIGS]
    result = replay(
        app,
        sample_bars(),
        configs,
        lambda clock: SimulatedBroker(clock, COSTS),
        dataset_id([SAMPLE_BARS]),
    )
    return app, [b.id for b in result.bots]


def dump(db: ReadModelDatabase) -> dict[str, list[dict[str, Any]]]:
    """Every rm_* table, rows ordered by primary key (in Python: no collation differences)."""
    tables = {}
    for table, keys in TABLE_KEYS.items():
        rows = db.query(f"SELECT * FROM {table}")
        tables[table] = sorted(rows, key=lambda r, k=keys: tuple(r[c] for c in k))
    return tables


def notifications(app: OpenbellApplication, topics: list[str] | None = None) -> list[Any]:
    head = app.recorder.max_notification_id() or 0
    return list(app.recorder.select_notifications(1, head + 1, topics=topics or ()))


def versions_at(app: OpenbellApplication, position: int) -> dict[UUID, int]:
    """Each bot's version once every notification up to `position` is applied."""
    versions: dict[UUID, int] = {}
    for n in app.recorder.select_notifications(1, position + 1, stop=position):
        versions[UUID(str(n.originator_id))] = n.originator_version
    return versions


class Rewind:
    """A bot's aggregate moved forward event by event to any (non-decreasing) version."""

    def __init__(self, app: OpenbellApplication, bot_id: UUID) -> None:
        self.events = app.bot_events(bot_id)
        self.bot: Any = None

    def at(self, version: int) -> Any:
        while (self.bot.version if self.bot else 0) < version:
            self.bot = self.events[self.bot.version if self.bot else 0].mutate(self.bot)
        return self.bot


def positions_of(bot: Any) -> list[dict[str, Any]]:
    """A bot aggregate's positions, shaped like rm_positions rows."""
    return [
        {
            "bot_id": str(bot.id),
            "symbol": symbol,
            "qty": p.qty,
            "cost": Decimal(p.cost),
            "avg_price": p.avg_price,
        }
        for symbol, p in sorted(bot.positions.items())
    ]


def rm_positions(db: ReadModelDatabase, bot_id: UUID) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT bot_id, symbol, qty, cost, avg_price FROM rm_positions WHERE bot_id = ?",
        [str(bot_id)],
    )
    return sorted(
        ({**r, "cost": Decimal(r["cost"]), "avg_price": Decimal(r["avg_price"])} for r in rows),
        key=lambda r: r["symbol"],
    )
