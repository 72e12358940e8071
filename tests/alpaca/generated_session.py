"""The generated session the catch-up and warm-up tests trade: its bars, bots started on it,
and the replay that a live bot's decisions and indicator values must equal."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from application.bot_config import parse_bot_config
from application.bot_runner import BotRunner
from application.engine import SettableClock, TradingEngine, minutes_of
from application.service import OpenbellApplication, bot_id_for
from domain.bot import Bot
from domain.calendar import session_on
from domain.config import BotConfig
from domain.units import NEW_YORK
from infrastructure.sample_data import generate_bars, sessions_between
from infrastructure.sim_broker import SimulatedBroker

if TYPE_CHECKING:
    from tests.alpaca.conftest import Sim

DAY = date(2024, 11, 6)
SESSION = session_on(DAY)
assert SESSION is not None
OPEN = SESSION.open.astimezone(UTC)
# The previous session (the history a warm-up fetches), then DAY.
BARS = generate_bars(["AAPL", "MSFT", "NVDA"], sessions_between(date(2024, 11, 1), DAY)[-2:], 7)
DECISIONS = (Bot.SignalGenerated, Bot.RiskCheckPassed, Bot.OrderDenied, Bot.OrderSubmitted)
IGNORED = {"originator_version"}


def bot_config(name: str, symbols: list[str], **config: Any) -> BotConfig:
    """RSI 7 and EMA 5 voting, one vote enough, unless `config` says otherwise."""
    body = {
        "name": name, "capital": 50000, "trading_frequency": 60, "symbols": symbols,
        "indicators": {"RSI": {"period": 7, "oversold": 45, "overbought": 55},
                       "EMA": {"period": 5}},
        "risk_management": {"stop_loss": 0.2, "take_profit": 0.4, "max_position_size": 0.2,
                            "max_daily_loss": 0.5, "max_positions": 3},
        "min_votes": 1, **config,
    }  # fmt: skip
    return parse_bot_config(body)


def start_bot(app: OpenbellApplication, name: str, symbols: list[str], **config: Any) -> UUID:
    """Create and start a bot as the API would store it (possibly while a trader runs)."""
    bot_id = bot_id_for(name, "catch-up")
    app.create_bot(bot_id, bot_config(name, symbols, **config), OPEN)
    app.run_command(bot_id, "start", OPEN)
    return bot_id


def subscribed(sim: Sim) -> set[str]:
    """The symbols whose bars the simulator streams to someone."""
    return {s for conn in sim.running.sim.streams.data for s in conn.bars}


def replay(
    bot_id: UUID,
    config: BotConfig,
    live_from: datetime,
    end: datetime,
    change: tuple[BotConfig, datetime] | None = None,
    recall: bool = True,
) -> TradingEngine:
    """The bot alone over the same bars up to `end`: those before `live_from` warm it, it
    trades on the later ones.

    `change` (a new config and the first bar it applies to): the new config's calculators are
    computed from the first bar on, as if another bot had always used them. From that bar on
    the bot trades with the new config, holding what it held, and remembering the last decision
    its new rules took (those of a runner that had them all along, recalling every bar before);
    without `recall`, the last decisions its old rules took.
    """
    clock = SettableClock(OPEN)
    engine = TradingEngine(SimulatedBroker(clock), clock)
    runner = engine.add_bot(_started(bot_id, config))
    symbols, shadow = set(config.symbols), None
    if change is not None:
        symbols |= set(change[0].symbols)
        shadow = BotRunner(_started(uuid4(), change[0]), engine.hub, engine.broker, clock)
    bars = [b for b in BARS if b.symbol in symbols and b.timestamp < end]
    for minute in minutes_of(bars):
        moment = minute[0].timestamp
        if change is not None and shadow is not None and moment >= change[1]:
            _reconfigure(engine, runner, change[0], shadow.last_decision if recall else {})
            shadow = None
        if moment < live_from:
            for bar in minute:
                engine.warm(bar)
        else:
            engine.on_minute(minute)
        if shadow is not None:
            for bar in minute:
                shadow.recall(bar, moment.astimezone(NEW_YORK).date(), bar.closed_at)
    return engine


def _started(bot_id: UUID, config: BotConfig) -> Bot:
    bot = Bot.create(bot_id, config, OPEN)
    bot.start(OPEN)
    return bot


def _reconfigure(
    engine: TradingEngine, runner: BotRunner, new: BotConfig, recalled: dict[str, Any]
) -> None:
    runner.bot.change_config(new, engine.clock.now())
    runner.configure()
    engine.reroute(runner)
    runner.last_decision.update(recalled)


def assert_trades_as_replayed(
    app: OpenbellApplication,
    live: TradingEngine,
    bot_id: UUID,
    config: BotConfig,
    live_from: datetime,
    end: datetime,
    change: tuple[BotConfig, datetime] | None = None,
) -> None:
    """The bot decided as its `replay` on every bar before `end`, and every calculator of the
    replay is where the live one is: none cold, none fed a bar twice."""
    replayed = replay(bot_id, config, live_from, end, change)
    expected = decisions(replayed.bots[0].collect_events(), end)
    assert decisions(list(app.bot_events(bot_id)), end) == expected, bot_id
    for symbol, outputs in replayed.hub.latest.items():
        assert {k: live.hub.latest[symbol][k] for k in outputs} == outputs, (bot_id, symbol)


def decisions(events: list[Any], end: datetime) -> list[tuple[str, dict[str, Any]]]:
    """What the bot decided on the bars both sides processed (stopping releases later fills)."""
    return [
        (type(e).__name__, {k: v for k, v in vars(e).items() if k not in IGNORED})
        for e in events
        if isinstance(e, DECISIONS) and e.timestamp < end
    ]


def signals_from(events: list[Any], start: datetime) -> list[Any]:
    return [e for e in events if isinstance(e, Bot.SignalGenerated) and e.bar_time >= start]
