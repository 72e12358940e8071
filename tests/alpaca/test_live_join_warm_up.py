"""A bot that joins a running trader on symbols others already trade decides as its replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.engine import SettableClock, TradingEngine
from application.service import OpenbellApplication
from domain.bot import Bot
from domain.calendar import session_on
from infrastructure.alpaca_sim.runner import RunningSim
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.bootstrap import build_application
from infrastructure.sample_data import generate_bars, sessions_between
from infrastructure.sim_broker import SimulatedBroker
from tests.alpaca.conftest import Sim, wait_for
from tests.alpaca.live_support import Running
from tests.alpaca.test_live_catch_up import start_bot, subscribed

DAY = date(2024, 11, 6)
SESSION = session_on(DAY)
assert SESSION is not None
OPEN = SESSION.open.astimezone(UTC)
BARS = generate_bars(["AAPL", "MSFT", "NVDA"], sessions_between(date(2024, 11, 1), DAY)[-2:], 7)
BEFORE, AFTER = 10, 20  # minutes traded before the newcomer joins, and after
JOINED = OPEN + timedelta(minutes=BEFORE)
END = JOINED + timedelta(minutes=AFTER)
DECISIONS = (Bot.SignalGenerated, Bot.RiskCheckPassed, Bot.OrderDenied, Bot.OrderSubmitted)
IGNORED = {"originator_version"}


@pytest.fixture
def day_sim() -> Iterator[Sim]:
    with RunningSim(BARS, SimOptions(start=OPEN)) as running:
        yield Sim(running)


def _replay(app: OpenbellApplication, bot_id: UUID, live_from: datetime) -> TradingEngine:
    """The bot alone over the same bars: history before `live_from` warms it, then it trades."""
    stored = app.get_bot(bot_id)
    clock = SettableClock(OPEN)
    engine = TradingEngine(SimulatedBroker(clock), clock)
    bot = Bot.create(bot_id, stored.config, OPEN)
    bot.start(OPEN)
    engine.add_bot(bot)
    for bar in BARS:
        if bar.symbol in bot.config.symbols and bar.timestamp < END:
            (engine.warm if bar.timestamp < live_from else engine.on_bar)(bar)
    return engine


def _decisions(events: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """What the bot decided on the bars both sides processed (stopping releases later fills)."""
    return [
        (type(e).__name__, {k: v for k, v in vars(e).items() if k not in IGNORED})
        for e in events
        if isinstance(e, DECISIONS) and e.timestamp < END
    ]


def _joined(app: OpenbellApplication, bot_id: UUID) -> bool:
    """Its join is stored (reconciled and warmed up, between two bars)."""
    return any(isinstance(e, Bot.Reconciled) for e in app.bot_events(bot_id))


def _signals_from(events: list[Any], start: datetime) -> list[Any]:
    return [e for e in events if isinstance(e, Bot.SignalGenerated) and e.bar_time >= start]


def test_a_bot_joining_on_subscribed_symbols_warms_up_and_decides_like_its_replay(
    day_sim, tmp_path
):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    # OBV adds up from its first bar: a calculator fed a bar twice would show in its value.
    rsi = {"period": 7, "oversold": 45, "overbought": 55}
    early = start_bot(app, "early", ["AAPL"], indicators={"RSI": rsi, "EMA": {"period": 5},
                                                          "OBV": {}})  # fmt: skip
    running = Running(app, day_sim)
    try:
        running.step(BEFORE, symbols=1)
        warmed = running.trader.stats["warm_bars"]
        # AAPL is subscribed already (RSI 7 shared with "early", EMA 8 and MACD new); NVDA not.
        newcomer = start_bot(
            app, "newcomer", ["AAPL", "NVDA"],
            indicators={"RSI": rsi, "EMA": {"period": 8},
                        "MACD": {"fast": 5, "slow": 13, "signal": 4}},
        )  # fmt: skip
        wait_for(lambda: _joined(app, newcomer), what="the newcomer to join")
        assert "NVDA" in subscribed(day_sim)
        joined = running.trader.engine.runners[str(newcomer)]
        assert set(joined.last_decision) == {"AAPL", "NVDA"}  # recalled before any live bar
        running.step(AFTER, symbols=2)
        live_hub = running.trader.engine.hub
    finally:
        running.close()

    # The history of both its symbols: the previous session and today's first minutes.
    assert running.trader.stats["warm_bars"] - warmed == 2 * (390 + BEFORE)
    for bot_id, live_from in ((newcomer, JOINED), (early, OPEN)):
        replay = _replay(app, bot_id, live_from)
        replayed = _decisions(replay.bots[0].collect_events())
        assert _decisions(list(app.bot_events(bot_id))) == replayed
        # Every calculator it reads is where replay's is: none cold, none fed a bar twice.
        for symbol, outputs in replay.hub.latest.items():
            assert {k: live_hub.latest[symbol][k] for k in outputs} == outputs, (bot_id, symbol)
    # The newcomer decided on AAPL within the minutes a cold EMA 8 / MACD would have needed.
    first = _signals_from(list(app.bot_events(newcomer)), JOINED)
    assert first and first[0].bar_time < JOINED + timedelta(minutes=8)
    assert _signals_from(list(app.bot_events(early)), JOINED)  # and the early bot traded on
