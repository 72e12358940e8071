"""An exit decided while the bot's own stop-loss/take-profit fills: it sells once, never twice.

The live trader runs against the simulator over scripted ACME bars: the bot buys at 101 on the
fifth minute, rests its one-cancels-other exit (stop 98.98, target 105.04), and decides to sell
when the sixth minute closes. By then the exit has already filled (the seventh minute gaps up
through the target as the sixth is published), or it fills the moment the cancel arrives
(`fill_on_cancel`): either way the position ends at 0 through one fill, and no market exit is
sent after it. When the cancel does go through, the exit is sent for what is still held.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.bot_config import parse_bot_config
from application.service import OpenbellApplication, bot_id_for
from domain.bot import Bot, BotStatus
from domain.orders import Intent, Side
from infrastructure.alpaca_sim.runner import RunningSim
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import SCRIPT_OPEN, Sim, scripted_bars
from tests.alpaca.live_support import Running

FLAT = ("100", "100", "100", "100")
BUYS = ("100", "101", "100", "101")  # the close rises above SMA(3): buy at the next open
HOLDS = ("101", "101.5", "100.5", "101")  # the entry fills at this open, 101
SELLS = ("101", "101.2", "100.2", "100.3")  # the close falls below SMA(3): sell
GAP_UP = ("106", "106.5", "100", "100.2")  # opens through the 105.04 target
QUIET = ("100.2", "100.3", "100.0", "100.1")  # touches neither the stop nor the target
FALLING = [("100.1", "100.2", "99.9", "100.0"), ("100.0", "100.1", "99.8", "99.9")]
FALLING += [("99.9", "100.0", "99.7", "99.8"), ("99.8", "99.9", "99.6", "99.7")]


def _bot(app: OpenbellApplication) -> Bot:
    config = parse_bot_config(
        {
            "name": "racer",
            "capital": 10000,
            "symbols": ["ACME"],
            "indicators": {"SMA": {"period": 3}},
            "risk_management": {
                "stop_loss": 0.02,
                "take_profit": 0.04,
                "max_position_size": 0.5,
                "max_positions": 1,
            },
            "min_votes": 1,
        }
    )
    bot_id = bot_id_for(config.name, "exit-race")
    app.create_bot(bot_id, config, SCRIPT_OPEN)
    app.run_command(bot_id, "start", SCRIPT_OPEN)
    return app.get_bot(bot_id)


def _trade(store_url: str, after_sell: tuple[str, str, str, str], **faults: int) -> tuple:
    bars = scripted_bars("ACME", FLAT, FLAT, FLAT, BUYS, HOLDS, SELLS, after_sell, *FALLING)
    app = build_application(store_url)
    bot_id = _bot(app).id
    with RunningSim(bars, SimOptions(start=SCRIPT_OPEN)) as running:
        sim = Sim(running)
        trader = Running(app, sim)
        try:
            trader.step(5, symbols=1)
            if faults:
                sim.faults(**faults)
            trader.step(5, symbols=1)  # the sixth minute closes: the exit is decided
        finally:
            trader.close()
        orders, account = sim.orders(), sim.positions()
    bot = app.get_bot(bot_id)
    events = list(app.bot_events(bot_id))
    app.close()
    return bot, events, orders, account


def _sells(events: list) -> list:
    return [e for e in events if isinstance(e, Bot.OrderFilled) and e.side is Side.SELL]


@pytest.mark.parametrize("why", ["gap through the target", "fill_on_cancel"])
def test_the_stop_or_target_filling_as_the_bot_exits_sells_once(store_url, why):
    if why == "fill_on_cancel":
        bot, events, orders, account = _trade(store_url, QUIET, fill_on_cancel=1)
    else:
        bot, events, orders, account = _trade(store_url, GAP_UP)

    assert bot.status is BotStatus.RUNNING and bot.positions == {} and account == {}
    [sell] = _sells(events)
    assert sell.client_order_id.endswith("-protect") and sell.qty == 49
    if why == "gap through the target":
        assert sell.price == Decimal(106)  # the gap's open
    deferred = [e for e in events if isinstance(e, Bot.ExitDeferred)]
    assert [(e.intent, e.waiting_for) for e in deferred] == [(Intent.EXIT, sell.client_order_id)]
    submitted = [e for e in events if isinstance(e, Bot.OrderSubmitted)]
    assert [e.intent for e in submitted] == [Intent.ENTRY, Intent.PROTECT]  # no exit after it
    assert sorted(o["side"] for o in orders) == ["buy", "sell"]


def test_an_exit_whose_cancel_goes_through_sells_what_is_held(store_url):
    bot, events, orders, account = _trade(store_url, QUIET)

    assert bot.positions == {} and account == {}
    assert sorted(o["side"] for o in orders) == ["buy", "sell", "sell"]
    [sell] = _sells(events)
    assert sell.client_order_id.endswith("-exit") and sell.qty == 49
    assert sell.price == Decimal("100.2")  # the next minute's open
    canceled = [e for e in events if isinstance(e, Bot.OrderCanceled)]
    assert [e.client_order_id[-8:] for e in canceled] == ["-protect"]
    kinds = [type(e).__name__ for e in events]
    # The exit leaves only after the broker confirmed the protection's cancel.
    assert kinds.index("OrderCanceled") < max(
        i for i, e in enumerate(events) if isinstance(e, Bot.OrderSubmitted)
    )
