"""BotView per rm_bots row version: validated once, again when the row moves on."""

from __future__ import annotations

import json
from typing import Any

from api.bot_views import BotViews

CONFIG = {
    "name": "b",
    "capital": "1000",
    "trading_frequency": 60,
    "symbols": ["AAPL"],
    "indicators": {"RSI": {"period": "14"}},
    "risk_management": {
        "stop_loss": None,
        "take_profit": None,
        "max_position_size": "0.5",
        "max_positions": 1,
        "max_daily_loss": None,
    },
    "start_hour": 9,
    "start_minute": 30,
    "end_hour": 12,
    "end_minute": 0,
    "min_votes": 1,
    "flatten_at_end": True,
    "entry_price_buffer": "0.005",
}


def row(
    version: int, cash: str, bot: str = "0f6e8d4c-3d1a-4f55-9b1e-5a2f8f0c7d11"
) -> dict[str, Any]:
    return {
        "id": bot,
        "name": "b",
        "status": "running",
        "config": json.dumps(CONFIG),
        "capital": "1000",
        "cash": cash,
        "equity": "1000",
        "open_positions": 0,
        "realized_pnl": "0",
        "fees": "0",
        "today": None,
        "today_pnl": "0",
        "last_signal": None,
        "trades": 0,
        "halted_on": None,
        "status_reason": None,
        "created_at": "2024-03-04T15:00:00.000000+00:00",
        "updated_at": f"2024-03-04T15:0{version}:00.000000+00:00",
        "version": version,
    }


def test_one_validation_per_row_version():
    views = BotViews()
    first = views.of(row(1, "1000"))
    assert str(first.cash) == "1000" and first.config.symbols == ["AAPL"]
    assert views.of(row(1, "1000")) is first  # same version: the same view
    moved = views.of(row(2, "900"))
    assert moved is not first and str(moved.cash) == "900"
    other_bot = views.of(row(1, "500", bot="5b0c8a52-8a51-4b0e-a0a4-3f1f0e4c2b22"))
    assert str(other_bot.cash) == "500"


def test_the_cache_stays_bounded():
    views = BotViews(max_entries=3)
    for version in range(1, 8):
        views.of(row(version, "1000"))
    assert len(views._views) <= 3
    assert views.of(row(7, "1000")).version == 7
