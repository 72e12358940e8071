"""Small builders shared by tests: bars, configs and an engine wired to the simulator."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from application.bot_config import parse_bot_config
from application.engine import SettableClock, TradingEngine
from domain.bars import Bar
from domain.bot import Bot
from domain.config import BotConfig
from domain.units import NEW_YORK
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts

BOT_ID_HEX = "0123456789abcdef0123456789abcdef"


def et(day: date, hour: int, minute: int) -> datetime:
    """A New York wall-clock moment as UTC, the way bars carry it."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def bar(
    symbol: str,
    at: datetime,
    close: str | Decimal,
    open_: str | Decimal | None = None,
    high: str | Decimal | None = None,
    low: str | Decimal | None = None,
    volume: int = 1000,
) -> Bar:
    c = Decimal(close)
    o = Decimal(open_) if open_ is not None else c
    h = Decimal(high) if high is not None else max(o, c)
    lo = Decimal(low) if low is not None else min(o, c)
    return Bar(symbol, at, o, h, lo, c, volume)


def minute_bars(
    symbol: str, day: date, closes: Sequence[str | Decimal], start=(9, 30)
) -> list[Bar]:
    """Consecutive one-minute bars from `start` ET, each opening at the previous close."""
    first = et(day, *start)
    bars, previous = [], Decimal(closes[0])
    for i, close in enumerate(closes):
        bars.append(bar(symbol, first + timedelta(minutes=i), close, open_=previous))
        previous = Decimal(close)
    return bars


def config(**overrides: Any) -> BotConfig:
    data: dict[str, Any] = {
        "name": "test-bot",
        "capital": 10000,
        "symbols": ["AAPL"],
        "indicators": {"SMA": {"period": 3}},
        "risk_management": {"max_position_size": 0.5, "max_positions": 1},
        "min_votes": 1,
    }
    data.update(overrides)
    return parse_bot_config(data)


def engine_with(
    configs: Iterable[BotConfig], start: datetime, costs: SimulatorCosts | None = None
) -> TradingEngine:
    from uuid import UUID

    clock = SettableClock(start)
    engine = TradingEngine(SimulatedBroker(clock, costs), clock)
    for i, cfg in enumerate(configs):
        bot_id = UUID(int=int(BOT_ID_HEX, 16) + (i << 100))
        bot = Bot.create(bot_id, cfg, start)
        bot.start(start)
        engine.add_bot(bot)
    return engine


def events_of(bot: Bot) -> list[Any]:
    """Every event the bot has recorded so far (pending, i.e. not yet saved)."""
    return list(bot._pending_events)


def kinds(bot: Bot) -> list[str]:
    return [type(e).__name__ for e in events_of(bot)]
