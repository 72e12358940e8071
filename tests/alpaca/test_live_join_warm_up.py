"""A bot that joins a running trader on symbols others already trade decides as its replay."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from application.service import OpenbellApplication
from domain.bot import Bot
from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import wait_for
from tests.alpaca.generated_session import (
    OPEN,
    assert_trades_as_replayed,
    signals_from,
    start_bot,
    subscribed,
)
from tests.alpaca.live_support import Running

BEFORE, AFTER = 10, 20  # minutes traded before the newcomer joins, and after
JOINED = OPEN + timedelta(minutes=BEFORE)
END = JOINED + timedelta(minutes=AFTER)


def _joined(app: OpenbellApplication, bot_id: UUID) -> bool:
    """Its join is stored (reconciled and warmed up, between two bars)."""
    return any(isinstance(e, Bot.Reconciled) for e in app.bot_events(bot_id))


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
    finally:
        running.close()

    # The history of both its symbols: the previous session and today's first minutes.
    assert running.trader.stats["warm_bars"] - warmed == 2 * (390 + BEFORE)
    for bot_id, live_from in ((newcomer, JOINED), (early, OPEN)):
        config = app.get_bot(bot_id).config
        assert_trades_as_replayed(app, running.trader.engine, bot_id, config, live_from, END)
    # The newcomer decided on AAPL within the minutes a cold EMA 8 / MACD would have needed.
    first = signals_from(list(app.bot_events(newcomer)), JOINED)
    assert first and first[0].bar_time < JOINED + timedelta(minutes=8)
    assert signals_from(list(app.bot_events(early)), JOINED)  # and the early bot traded on
