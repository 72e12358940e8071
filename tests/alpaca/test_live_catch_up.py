"""The live trader catches up with what happened without it: new symbols, a window that ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta
from typing import Any

import pytest

from application.bot_config import parse_bot_config
from application.service import OpenbellApplication, bot_id_for
from domain.bot import Bot
from domain.calendar import session_on
from domain.orders import Intent
from infrastructure.alpaca_sim.runner import RunningSim
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.bootstrap import build_application
from infrastructure.sample_data import generate_bars, sessions_between
from tests.alpaca.conftest import Sim, wait_for
from tests.alpaca.live_support import Running

DAY = date(2024, 11, 6)
SESSION = session_on(DAY)
assert SESSION is not None
OPEN = SESSION.open.astimezone(UTC)


@pytest.fixture
def gen_sim() -> Iterator[Sim]:
    """Generated bars for AAPL, MSFT and NVDA: the previous session as history, then DAY."""
    days = sessions_between(DAY - timedelta(days=7), DAY)[-2:]
    bars = generate_bars(["AAPL", "MSFT", "NVDA"], days, 7)
    with RunningSim(bars, SimOptions(start=OPEN)) as running:
        yield Sim(running)


def start_bot(app: OpenbellApplication, name: str, symbols: list[str], **config: Any) -> Any:
    body = {
        "name": name, "capital": 50000, "trading_frequency": 60, "symbols": symbols,
        "indicators": {"RSI": {"period": 7, "oversold": 45, "overbought": 55},
                       "EMA": {"period": 5}},
        "risk_management": {"stop_loss": 0.2, "take_profit": 0.4, "max_position_size": 0.2,
                            "max_daily_loss": 0.5, "max_positions": 3},
        "min_votes": 1, **config,
    }  # fmt: skip
    bot_id = bot_id_for(name, "catch-up")
    app.create_bot(bot_id, parse_bot_config(body), OPEN)
    app.run_command(bot_id, "start", OPEN)
    return bot_id


def subscribed(sim: Sim) -> set[str]:
    return {s for conn in sim.running.sim.streams.data for s in conn.bars}


def test_a_bot_started_on_symbols_nobody_trades_is_subscribed_between_bars(gen_sim, tmp_path):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    start_bot(app, "on-aapl", ["AAPL"])
    running = Running(app, gen_sim)
    try:
        running.step(2, symbols=1)
        warmed = running.trader.stats["warm_bars"]
        newcomer = start_bot(app, "on-nvda", ["NVDA"])  # as the API stores it, mid-session
        wait_for(lambda: "NVDA" in subscribed(gen_sim), what="the NVDA subscription")
        running.step(3, symbols=2)
    finally:
        running.close()
    # Warmed up on NVDA's history (previous session and today so far), then its live bars.
    assert running.trader.stats["warm_bars"] - warmed == 390 + 2
    live = [bar for bar in running.seen if bar.symbol == "NVDA"]
    assert [bar.timestamp for bar in live] == [OPEN + timedelta(minutes=m) for m in (2, 3, 4)]
    runner = running.trader.engine.runners[str(newcomer)]
    assert "NVDA" in runner.last_decision  # its indicators were ready on the first live bar


def test_a_window_that_ended_while_the_trader_was_down_is_flattened_on_restart(gen_sim, tmp_path):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    bot_id = start_bot(app, "short-window", ["AAPL", "MSFT", "NVDA"], end_hour=9, end_minute=50)
    first = Running(app, gen_sim)
    try:
        for _ in range(15):  # until it holds something, well before its last minute (09:49)
            first.step(1)
            if gen_sim.positions():
                break
    finally:
        first.close()
    held = app.get_bot(bot_id).positions
    assert held and gen_sim.positions() == {s: p.qty for s, p in held.items()}
    gen_sim.step(20)  # the window's last minute passes while nobody trades
    second = Running(app, gen_sim)
    try:
        second.step(1)
    finally:
        second.close()
    assert app.get_bot(bot_id).positions == {} and gen_sim.positions() == {}
    events = list(app.bot_events(bot_id))
    flattened = {
        e.symbol for e in events if isinstance(e, Bot.OrderSubmitted) and e.intent is Intent.FLATTEN
    }
    assert flattened == set(held)
    signals = [e for e in events if isinstance(e, Bot.SignalGenerated)]
    assert any("window ended while the trader was down" in e.rule for e in signals)
