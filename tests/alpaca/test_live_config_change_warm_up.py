"""A running bot whose config changes mid-session has what the change adds warmed up as a
joining bot's is, and decides as a replay in which it took the new config at that bar.

Exactly equal, and why: every calculator the trader runs saw the bars from the previous
session's open on (the shared ones since start, the ones the change added on a private hub up
to the last bar, then live); the replay computes the new config's calculators from that first
bar too, so every value is the same float. A config change keeps the bot's positions, orders
and cash, and the runner recalls the last decision the new rules took over that history (as a
restart with the new config would); the replay's runner takes the same remembered decision
from a runner that had the new config all along. So the bot's decisions are equal on every bar.
"""

from __future__ import annotations

from datetime import timedelta

from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import wait_for
from tests.alpaca.generated_session import (
    OPEN,
    assert_trades_as_replayed,
    bot_config,
    signals_from,
    start_bot,
    subscribed,
)
from tests.alpaca.live_support import Running

BEFORE, AFTER = 15, 20  # minutes traded before the config changes, and after
CHANGED = OPEN + timedelta(minutes=BEFORE)
END = CHANGED + timedelta(minutes=AFTER)
RSI = {"period": 7, "oversold": 45, "overbought": 55}
MACD = {"fast": 5, "slow": 13, "signal": 4}  # a cold one has no value before its 16th bar


def test_a_config_change_warms_up_what_it_adds_and_the_bot_decides_like_its_replay(
    day_sim, tmp_path
):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    # OBV adds up from its first bar: a calculator fed a bar twice would show in its value.
    steady = start_bot(app, "steady", ["AAPL"], indicators={"RSI": RSI, "OBV": {}})
    changing = start_bot(app, "changing", ["MSFT"])  # RSI 7 and EMA 5
    old = app.get_bot(changing).config
    # AAPL is subscribed (RSI 7 and OBV shared with "steady", EMA 5 and MACD new there), so is
    # MSFT (RSI 7 and EMA 5 its own already, OBV and MACD new); nobody trades NVDA yet.
    new = bot_config(
        "changing", ["AAPL", "MSFT", "NVDA"],
        indicators={"RSI": RSI, "EMA": {"period": 5}, "OBV": {}, "MACD": MACD},
    )  # fmt: skip
    running = Running(app, day_sim)
    try:
        running.step(BEFORE, symbols=2)
        warmed = running.trader.stats["warm_bars"]
        held = app.get_bot(changing)
        assert held.positions and held.orders  # MSFT bought, its protective exit working
        app.change_config(changing, new, CHANGED)  # as PUT /api/bots/{id} stores it
        wait_for(lambda: "NVDA" in subscribed(day_sim), what="the NVDA subscription")
        # The history of its three symbols: the previous session and today's first minutes.
        learned = 3 * (390 + BEFORE)
        wait_for(lambda: running.trader.stats["warm_bars"] - warmed == learned, what="warm-up")
        runner = running.trader.engine.runners[str(changing)]
        assert runner.bot.config == new
        assert set(runner.last_decision) == {"AAPL", "MSFT", "NVDA"}  # before any live bar
        bot = runner.bot  # the change itself traded nothing
        assert (bot.positions, set(bot.orders), bot.cash) == (
            held.positions, set(held.orders), held.cash
        )  # fmt: skip
        running.step(AFTER, symbols=3)
    finally:
        running.close()

    engine = running.trader.engine
    assert_trades_as_replayed(app, engine, changing, old, OPEN, END, change=(new, CHANGED))
    assert_trades_as_replayed(app, engine, steady, app.get_bot(steady).config, OPEN, END)
    # It decided on each symbol within the minutes a cold EMA 5 / MACD would have needed.
    after = signals_from(list(app.bot_events(changing)), CHANGED)
    first = {s.symbol: s.bar_time for s in reversed(after)}
    assert first.keys() == {"AAPL", "MSFT", "NVDA"}
    assert all(t < CHANGED + timedelta(minutes=15) for t in first.values()), first
    assert signals_from(list(app.bot_events(steady)), CHANGED)  # and "steady" traded on
