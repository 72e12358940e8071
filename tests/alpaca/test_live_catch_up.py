"""The live trader catches up with what happened without it: new symbols, a window that ended."""

from __future__ import annotations

from datetime import timedelta

from domain.bot import Bot
from domain.orders import Intent
from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import wait_for
from tests.alpaca.generated_session import OPEN, start_bot, subscribed
from tests.alpaca.live_support import Running


def test_a_bot_started_on_symbols_nobody_trades_is_subscribed_between_bars(day_sim, tmp_path):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    start_bot(app, "on-aapl", ["AAPL"])
    running = Running(app, day_sim)
    try:
        running.step(2, symbols=1)
        warmed = running.trader.stats["warm_bars"]
        newcomer = start_bot(app, "on-nvda", ["NVDA"])  # as the API stores it, mid-session
        wait_for(lambda: "NVDA" in subscribed(day_sim), what="the NVDA subscription")
        running.step(3, symbols=2)
    finally:
        running.close()
    # Warmed up on NVDA's history (previous session and today so far), then its live bars.
    assert running.trader.stats["warm_bars"] - warmed == 390 + 2
    live = [bar for bar in running.seen if bar.symbol == "NVDA"]
    assert [bar.timestamp for bar in live] == [OPEN + timedelta(minutes=m) for m in (2, 3, 4)]
    runner = running.trader.engine.runners[str(newcomer)]
    assert "NVDA" in runner.last_decision  # its indicators were ready on the first live bar


def test_a_window_that_ended_while_the_trader_was_down_is_flattened_on_restart(day_sim, tmp_path):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    bot_id = start_bot(app, "short-window", ["AAPL", "MSFT", "NVDA"], end_hour=9, end_minute=50)
    first = Running(app, day_sim)
    try:
        for _ in range(15):  # until it holds something, well before its last minute (09:49)
            first.step(1)
            if day_sim.positions():
                break
    finally:
        first.close()
    held = app.get_bot(bot_id).positions
    assert held and day_sim.positions() == {s: p.qty for s, p in held.items()}
    day_sim.step(20)  # the window's last minute passes while nobody trades
    second = Running(app, day_sim)
    try:
        second.step(1)
    finally:
        second.close()
    assert app.get_bot(bot_id).positions == {} and day_sim.positions() == {}
    events = list(app.bot_events(bot_id))
    flattened = {
        e.symbol for e in events if isinstance(e, Bot.OrderSubmitted) and e.intent is Intent.FLATTEN
    }
    assert flattened == set(held)
    signals = [e for e in events if isinstance(e, Bot.SignalGenerated)]
    assert any("window ended while the trader was down" in e.rule for e in signals)
