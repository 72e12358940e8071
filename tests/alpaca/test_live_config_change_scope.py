"""A config change asks the broker for history only where it changes what a running bot must
have learned: its calculators (a symbol or indicator it did not read) or the last decision it
remembers per symbol (its indicators and thresholds, min_votes, trading frequency, window).

A change of capital, risk limits, entry buffer or flattening leaves both as they are, so the
trader requests nothing and does not stop between bars for it; an added symbol alone is learned
alone. In every case the bot decides as its replay that took the new config at that bar
(`generated_session.replay`), so what was skipped was not needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.engine import TradingEngine
from application.service import OpenbellApplication
from domain.bot import Bot
from domain.config import BotConfig
from domain.orders import Side
from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import Sim, wait_for
from tests.alpaca.generated_session import (
    OPEN,
    assert_trades_as_replayed,
    bot_config,
    decisions,
    replay,
    start_bot,
)
from tests.alpaca.live_support import Running
from tests.alpaca.test_live_config_change_warm_up import BEFORE, END, RSI

SYMBOLS = ["AAPL", "MSFT"]  # "changing" holds MSFT when its config changes (AAPL at 9:45 not)
SIZING = {"capital": 80000, "entry_price_buffer": 0.01, "flatten_at_end": False,
          "risk_management": {"stop_loss": 0.1, "take_profit": 0.3, "max_position_size": 0.1,
                              "max_daily_loss": 0.4, "max_positions": 2}}  # fmt: skip


@dataclass
class Changed:
    """A session in which "changing" took `new` at `at`, and what the trader asked for."""

    app: OpenbellApplication
    engine: TradingEngine
    changing: UUID
    old: BotConfig
    new: BotConfig
    at: datetime
    learned: int  # history bars the change made the trader learn
    asked: int  # history pages the simulator served for it

    def assert_decided_as_replayed(self) -> None:
        engine, app = self.engine, self.app
        change = (self.new, self.at)
        assert_trades_as_replayed(app, engine, self.changing, self.old, OPEN, END, change=change)
        for listing in app.list_bots():
            if listing.id != self.changing:
                config = app.get_bot(listing.id).config
                assert_trades_as_replayed(app, engine, listing.id, config, OPEN, END)


def change_mid_session(
    sim: Sim, tmp_path: Any, body: dict[str, Any], before: int = BEFORE
) -> Changed:
    """Two bots trade, "steady" AAPL and NVDA, "changing" AAPL and MSFT; `before` minutes after
    the open "changing" takes `body`, and both trade on until END."""
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    start_bot(app, "steady", ["AAPL", "NVDA"], indicators={"RSI": RSI, "OBV": {}})
    changing = start_bot(app, "changing", SYMBOLS)  # RSI 7 and EMA 5
    old, new = app.get_bot(changing).config, bot_config("changing", **{"symbols": SYMBOLS, **body})
    running = Running(app, sim)
    try:
        running.step(before)
        warmed, requests = running.trader.stats["warm_bars"], sim.state()["bar_requests"]
        held = app.get_bot(changing)
        assert "MSFT" in held.positions and held.orders  # and its exit working
        at = OPEN + timedelta(minutes=before)
        app.change_config(changing, new, at)  # as PUT /api/bots/{id} stores it
        runner = running.trader.engine.runners[str(changing)]
        wait_for(lambda: runner.bot.config == new, what="the change")
        bot, added = runner.bot, new.capital - old.capital  # the change itself traded nothing
        assert (bot.positions, set(bot.orders), bot.cash) == (
            held.positions, set(held.orders), held.cash + added
        )  # fmt: skip
        running.step((END - at) // timedelta(minutes=1))
        learned = running.trader.stats["warm_bars"] - warmed
        asked = sim.state()["bar_requests"] - requests
    finally:
        running.close()
    return Changed(app, running.trader.engine, changing, old, new, at, learned, asked)


def test_a_capital_and_risk_change_requests_no_history_and_sizes_by_the_new_limits(
    day_sim, tmp_path
):
    changed = change_mid_session(day_sim, tmp_path, SIZING)

    assert (changed.asked, changed.learned) == (0, 0)
    changed.assert_decided_as_replayed()
    # AAPL's entry after the change: within the new 10% of 80000, not the old 20% of 50000.
    entries = [
        e
        for e in changed.app.bot_events(changed.changing)
        if isinstance(e, Bot.OrderSubmitted) and e.side is Side.BUY and e.timestamp >= changed.at
    ]
    assert entries and all(e.reserved <= Decimal(8000) for e in entries), entries


CHANGES = {
    # Rules as they were: the symbol it keeps decides as before, the one it drops is let go.
    "drops a symbol": ({"symbols": ["MSFT"]}, set()),
    # NVDA's RSI 7 is shared with "steady", its EMA 5 is new: NVDA learns, AAPL and MSFT not.
    "adds a symbol": ({"symbols": [*SYMBOLS, "NVDA"]}, {"NVDA"}),
    # No calculator is new, but the decision remembered may be another bar's or another rule's.
    "the window": ({"start_minute": 35}, set(SYMBOLS)),
    "a threshold": (
        {"indicators": {"RSI": {**RSI, "overbought": 60}, "EMA": {"period": 5}}},
        set(SYMBOLS),
    ),
    "min_votes": ({"min_votes": 2}, set(SYMBOLS)),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_config_change_learns_the_history_of_the_symbols_whose_decision_it_changes(
    day_sim, tmp_path, change
):
    body, stale = CHANGES[change]
    changed = change_mid_session(day_sim, tmp_path, body)

    # The previous session and today's first minutes of each of those symbols, nothing more.
    assert changed.learned == len(stale) * (390 + BEFORE)
    assert (changed.asked > 0) == bool(stale), changed.asked
    changed.assert_decided_as_replayed()


# At 9:50 these new rules remember another decision than the old ones did, and it shows: a
# trader that kept the old decisions would not decide as the replay does.
RECALLED = {
    "a slower frequency": {"trading_frequency": 180},  # the last bar of its grid is another
    "an indicator fewer": {"indicators": {"EMA": {"period": 5}}},  # and no calculator added
}


@pytest.mark.parametrize("change", list(RECALLED))
def test_a_rules_change_recalls_the_decisions_its_new_rules_would_have_taken(
    day_sim, tmp_path, change
):
    changed = change_mid_session(day_sim, tmp_path, RECALLED[change], before=20)

    assert changed.learned == len(SYMBOLS) * (390 + 20)
    changed.assert_decided_as_replayed()
    kept = replay(changed.changing, changed.old, OPEN, END, (changed.new, changed.at), False)
    live = decisions(list(changed.app.bot_events(changed.changing)), END)
    assert decisions(kept.bots[0].collect_events(), END) != live
